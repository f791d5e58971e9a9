"""`eadnet.models` exports its public classes (imported on first use)."""

import importlib
import subprocess
import sys

import eadnet.models


def test_every_export_resolves_to_its_module():
    for name, module in eadnet.models._EXPORTS.items():
        assert getattr(eadnet.models, name) is getattr(importlib.import_module(module), name), name
    assert sorted(eadnet.models.__all__) == sorted(eadnet.models._EXPORTS)


def test_models_do_not_import_the_hub():
    code = "import sys, eadnet.models.syncnet, eadnet.models.unet_3d; print(any(m.startswith('eadnet.hub') for m in sys.modules))"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )
