"""What a Community Cloud deploy reads, checked offline: the two requirements files agree, list
everything the app imports, and the root config suits a classroom."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

from lab.training import setup as training_setup
from tests.apptest import ROOT

CPU_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"


def requirements(path: Path) -> list[str]:
    """The file's lines without comments and blank lines."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def name(requirement: str) -> str:
    """Example: name("Torch==2.13.0+cpu") == "torch"."""
    return re.split(r"[<>=!~;\[ @]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_cloud_requirements_are_the_root_ones_with_the_cpu_build_of_torch():
    root, cloud = (
        requirements(ROOT / "requirements.txt"),
        requirements(ROOT / "lab" / "requirements.txt"),
    )
    assert cloud[0] == CPU_INDEX  # before any package, so torch is looked up there first
    torch_root = next(r for r in root if name(r) == "torch")
    torch_cloud = next(r for r in cloud if name(r) == "torch")
    version = torch_root.removeprefix("torch==")
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), "pin torch exactly in requirements.txt"
    assert torch_cloud == f"torch=={version}+cpu"
    others = sorted(r for r in root if name(r) != "torch")
    assert sorted(r for r in cloud[1:] if name(r) != "torch") == others
    assert not any(r.startswith("-") for r in root), (
        "keep the root file plain: CI reaches only PyPI"
    )


def _imported_modules() -> set[str]:
    found = set()
    for folder in ("lab", "pages", "minigpt"):
        for path in (ROOT / folder).rglob("*.py"):  # sub-packages too (lab/cache/, ...)
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    found |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"lab", "pages", "minigpt", "__future__"}


def test_every_imported_package_is_a_listed_requirement():
    listed = {name(r) for r in requirements(ROOT / "requirements.txt")}
    providers = importlib.metadata.packages_distributions()
    missing = {
        module: providers.get(module)
        for module in _imported_modules()
        if not {d.lower() for d in providers.get(module, [module])} & listed
    }
    assert not missing, f"imported but not in requirements.txt: {missing}"


def test_the_config_suits_a_classroom_on_community_cloud():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    limit = config["server"]["maxUploadSize"]  # MB
    assert (
        training_setup.MAX_UPLOAD_BYTES / 1e6 <= limit < 20
    )  # pages' limits fit; 20 MB never arrives
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["showErrorDetails"] in (
        "none",
        "type",
    )  # no traceback reaches a student
    assert config["client"]["toolbarMode"] in ("viewer", "minimal")
    assert config["runner"]["magicEnabled"] is False
    assert not config["server"].get("enableAgentApi", False)


def test_no_element_is_sent_as_a_reference_to_the_browsers_cache(monkeypatch):
    """The repo's config reaches Streamlit and turns its message cache off: a large element is
    never marked cacheable, so it is never sent as a reference the browser may have dropped."""
    from streamlit import config
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.runtime.forward_msg_cache import populate_hash_if_needed

    monkeypatch.chdir(ROOT)
    config.get_config_options(force_reparse=True)
    msg = ForwardMsg()
    msg.delta.new_element.markdown.body = "a long element " * 10_000
    populate_hash_if_needed(msg)
    assert msg.hash and not msg.metadata.cacheable
