"""Builds the CertStream pack zip with scripts/build_pack_zip.sh (demisto-sdk prepare-content) and
checks what XSOAR would receive: the unified integration and script with their code, and the code of
the API module they import, inlined. Skipped when demisto-sdk is not installed (`make zip` or
`make validate` install it)."""
import base64
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
SDK = shutil.which("demisto-sdk", path=BIN + os.pathsep + os.environ.get("PATH", ""))

pytestmark = pytest.mark.skipif(SDK is None, reason="demisto-sdk is not installed (pip install -e '.[sdk]')")

# demisto-sdk keeps the import line as a comment ("### GENERATED CODE ###: from ... import *") and
# puts the module's code after it; a live import statement means the module was not inlined.
API_MODULE_IMPORT = re.compile(r"^\s*from CertStreamDetectorApiModule import", re.MULTILINE)


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    out = tmp_path_factory.mktemp("zip")
    env = dict(os.environ, OUT=str(out), PATH=os.path.dirname(SDK) + os.pathsep + os.environ.get("PATH", ""))
    result = subprocess.run(["bash", os.path.join(ROOT, "scripts", "build_pack_zip.sh"), "CertStream"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    archive = out / "CertStream.zip"
    assert archive.is_file(), result.stdout + result.stderr
    unpacked = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(archive) as handle:
        assert handle.testzip() is None
        handle.extractall(unpacked)
    return unpacked


def read_yaml(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def api_module_functions():
    """Definitions of the API module's contract (docs/architecture.md), as they start its lines."""
    path = os.path.join(ROOT, "Packs", "ApiModules", "Scripts", "CertStreamDetectorApiModule",
                        "CertStreamDetectorApiModule.py")
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    signatures = ["def normalize_term(", "def parse_watch_list(", "class Detector", "class WatchListError("]
    for signature in signatures:
        assert re.search("^" + re.escape(signature), source, re.MULTILINE), signature
    return signatures


def assert_api_module_inlined(code):
    assert not API_MODULE_IMPORT.search(code), "the API module import was not replaced by its code"
    for signature in api_module_functions():
        assert re.search("^" + re.escape(signature), code, re.MULTILINE), (
            f"{signature} of CertStreamDetectorApiModule is not inlined")


def test_unified_integration(pack):
    path = pack / "Integrations" / "integration-CertStream.yml"
    assert path.is_file(), sorted(os.listdir(pack / "Integrations"))
    data = read_yaml(path)
    code = data["script"]["script"]
    assert "def build_incident(" in code and "def main()" in code, "integration code not inlined"
    assert_api_module_inlined(code)
    compile(code, "integration-CertStream", "exec")
    assert data["image"].startswith("data:image/png;base64,")
    png = base64.b64decode(data["image"].split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) < 10 * 1024
    assert "CertStream" in data.get("detaileddescription", "")
    assert {c["name"] for c in data["script"]["commands"]} == {"certstream-check-domain", "certstream-get-status"}


def test_unified_script(pack):
    path = pack / "Scripts" / "script-GenerateDomainHomographs.yml"
    assert path.is_file(), sorted(os.listdir(pack / "Scripts"))
    data = read_yaml(path)
    code = data["script"]
    assert "def generate_domain_homographs(" in code, "script code not inlined"
    assert_api_module_inlined(code)
    compile(code, "script-GenerateDomainHomographs", "exec")
    assert data["name"] == "GenerateDomainHomographs"


def test_other_content(pack):
    assert (pack / "pack_metadata.json").is_file() and (pack / "README.md").is_file()
    assert (pack / "Playbooks" / "playbook-Create_list_for_PTH.yml").is_file()
    assert (pack / "IncidentTypes" / "incidenttype-CertStream_Suspicious_Certificate.json").is_file()
    assert (pack / "Layouts" / "layoutscontainer-CertStream_Suspicious_Certificate.json").is_file()
    fields = os.listdir(pack / "IncidentFields")
    assert len(fields) == 18, fields
    assert not [name for name in os.listdir(pack / "Integrations") if name.endswith(".py")], (
        "the zip should hold unified YAML only")
