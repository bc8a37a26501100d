"""Swedish first: every message of the code and templates has a Swedish translation.

The messages are gathered afresh (Django's makemessages, on a copy of the sources) and
merged with the committed catalogue, so a new string nobody translated, or one marked
fuzzy (which Django does not use), fails the suite."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("config", "geodata", "emap", "permits", "templates", "locale", "manage.py")


def test_every_message_has_a_swedish_translation(tmp_path):
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            shutil.copy(source, tmp_path / name)
    subprocess.run([sys.executable, "manage.py", "makemessages", "-l", "sv", "-v", "0",
                    "--no-obsolete"], cwd=tmp_path, check=True, capture_output=True)
    catalogue = polib.pofile(str(tmp_path / "locale" / "sv" / "LC_MESSAGES" / "django.po"))
    untranslated = [e.msgid for e in catalogue.untranslated_entries()]
    fuzzy = [e.msgid for e in catalogue.fuzzy_entries()]
    assert not untranslated, f"{len(untranslated)} messages lack Swedish: {untranslated[:10]}"
    assert not fuzzy, f"{len(fuzzy)} translations are fuzzy: {fuzzy[:10]}"
    assert len(catalogue) > 300
