"""Stand-in for XSOAR's DemistoClassApiModule (imported at the end of CommonServerPython): empty in tests."""
