"""Loading engines from paths and module names, and the errors when that fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from minigrad.engines import EngineError, load_engine


class TestLoadEngine:
    def test_default_is_ours(self) -> None:
        """With no argument, the engine is minigrad's own."""
        engine = load_engine()
        assert engine.value_cls.__name__ == "Value"
        assert engine.path.name == "engine.py"
        assert "def _sub_backward" in engine.source

    def test_from_path(self, tmp_path: Path) -> None:
        """A .py file path loads its Value."""
        f = tmp_path / "myengine.py"
        f.write_text("class Value:\n    pass\n")
        assert load_engine(str(f)).value_cls.__name__ == "Value"

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ("x = 1\n", "has no Value class"),
            ("Value = 3\n", "has no Value class"),
            ("raise RuntimeError('kaput')\n", "failed to import: RuntimeError: kaput"),
            ("def broken(:\n", "failed to import: SyntaxError"),
            ("import sys\nsys.exit(3)\n", "failed to import"),
        ],
    )
    def test_bad_files(self, tmp_path: Path, body: str, message: str) -> None:
        """Broken engine files are EngineErrors that say what is wrong."""
        f = tmp_path / "bad.py"
        f.write_text(body)
        with pytest.raises(EngineError, match=message):
            load_engine(str(f))

    def test_missing_file(self, tmp_path: Path) -> None:
        """A path that does not exist is named in the error."""
        with pytest.raises(EngineError, match=r"engine file not found: .*nope\.py"):
            load_engine(str(tmp_path / "nope.py"))

    def test_missing_module(self) -> None:
        """An unknown module name is an EngineError, not an ImportError."""
        with pytest.raises(EngineError, match="no module named 'no_such_engine_xyz'"):
            load_engine("no_such_engine_xyz")
