"""Stand-in for XSOAR's CommonServerUserPython: empty, like in content's test setup."""
