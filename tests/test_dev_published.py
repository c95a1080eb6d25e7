"""The published engines the benchmarks measure with their authors' tests
(minigrad_dev.published): an sdist is unpacked only when it holds the test folder named."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from minigrad_dev.published import PUBLISHED, Published, PublishedError, unpack

ENGINE = Published("toygrad", "1.0", "toygrad/engine.py", "test")


def _sdist(folder: Path, files: dict[str, str]) -> None:
    with tarfile.open(folder / "toygrad-1.0.tar.gz", "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"toygrad-1.0/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def test_an_sdist_with_its_tests_is_unpacked_to_its_project_folder(tmp_path: Path) -> None:
    _sdist(tmp_path, {"toygrad/engine.py": "class Value: ...\n", "test/test_engine.py": ""})
    project = unpack(ENGINE, tmp_path)
    assert project == tmp_path / "unpacked" / "toygrad-1.0"
    assert (project / "toygrad" / "engine.py").read_text() == "class Value: ...\n"


def test_an_sdist_without_the_test_folder_is_refused(tmp_path: Path) -> None:
    _sdist(tmp_path, {"toygrad/engine.py": "class Value: ...\n"})
    with pytest.raises(PublishedError, match="has no test/ folder"):
        unpack(ENGINE, tmp_path)


def test_no_sdist_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PublishedError, match="found 0"):
        unpack(ENGINE, tmp_path)


def test_each_published_engine_is_pinned_and_named_inside_its_sdist() -> None:
    assert [p.requirement for p in PUBLISHED] == [
        "backprop-lib==0.1.0",
        "scalargrad==1.0.5",
        "micrograd==0.1.0",
    ]
    assert all(not Path(p.engine.partition(":")[0]).is_absolute() for p in PUBLISHED)


def test_a_member_outside_the_folder_is_refused(tmp_path: Path) -> None:
    """tarfile's data filter: an sdist cannot write outside the folder it is unpacked in."""
    data = b"x"
    with tarfile.open(tmp_path / "toygrad-1.0.tar.gz", "w:gz") as archive:
        info = tarfile.TarInfo("../escaped.py")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    with pytest.raises(tarfile.TarError):
        unpack(ENGINE, tmp_path)
    assert not (tmp_path.parent / "escaped.py").exists()
