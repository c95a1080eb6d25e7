"""`[tool.minigrad]` in pyproject.toml: found, checked, overridden by flags, shown in --help."""

from __future__ import annotations

from pathlib import Path

import pytest

from minigrad_tool.cli import main
from minigrad_tool.cli.config import Config, ConfigError, find_config
from minigrad_tool.cli.parser import build_parser

ENGINES = Path(__file__).parent / "engines"


def project(root: Path, table: str) -> Path:
    (root / "pyproject.toml").write_text(f'[project]\nname = "lab"\n\n[tool.minigrad]\n{table}\n')
    return root


class TestFinding:
    def test_values_and_paths_relative_to_the_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Run from a subfolder: paths are the pyproject's, said from where the user stands."""
        root = project(
            tmp_path,
            'engine = "src/eng.py"\ntests = ["tests"]\njudge = "tests"\nmin-score = 90\n'
            'operators = ["sign", "drop"]\ntimeout = 5\nmemory = 4096\njobs = 1',
        )
        (root / "sub").mkdir()
        monkeypatch.chdir(root / "sub")
        config = find_config()
        assert config.path == root / "pyproject.toml"
        assert config.values == {
            "engine": "../src/eng.py",
            "tests": ("../tests",),
            "judge": "tests",
            "min_score": 90.0,
            "operators": ("sign", "drop"),
            "timeout": 5.0,
            "memory": 4096,
            "jobs": 1,
        }

    def test_a_module_engine_is_kept_as_written(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(project(tmp_path, 'engine = "mypkg.engine:Scalar"'))
        assert find_config().values["engine"] == "mypkg.engine:Scalar"

    def test_the_nearest_project_decides(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A project without the table inside one with it has no settings: never the outer's."""
        project(tmp_path, 'engine = "outer.py"')
        inner = tmp_path / "inner"
        inner.mkdir()
        (inner / "pyproject.toml").write_text('[project]\nname = "inner"\n')
        monkeypatch.chdir(inner)
        assert find_config().values == {}


@pytest.mark.parametrize(
    ("settings", "argv", "tests"),
    [
        ((), ["--tests", "a.py", "--tests", "b.py", "c.py"], ["a.py", "b.py", "c.py"]),
        (("t/",), ["--tests", "a.py", "--tests", "b.py"], ["a.py", "b.py"]),
        (("t/",), [], ("t/",)),
    ],
)
def test_each_tests_flag_adds_to_the_last_and_the_first_replaces_the_setting(
    settings: tuple[str, ...], argv: list[str], tests: object
) -> None:
    """argparse's own `store` kept only the last `--tests`: `--tests a.py --tests b.py` judged
    by b.py alone, reported as "your tests"."""
    config = Config(Path("pyproject.toml"), {"tests": settings} if settings else {})
    parser = build_parser(config, lambda name: lambda *_: 0)
    assert parser.parse_args(["mutate", *argv]).tests == tests


def test_operators_and_groups_given_twice_add_up() -> None:
    parser = build_parser(Config(), lambda name: lambda *_: 0)
    argv = ["--operators", "sign,drop", "--operators", "swap,sign", "--groups", "op"]
    args = parser.parse_args(["mutate", *argv, "--groups", "graph"])
    assert (args.operators, args.groups) == (("sign", "drop", "swap"), ("op", "graph"))


class TestRefusing:
    @pytest.mark.parametrize(
        ("table", "said"),
        [
            ('engnie = "e.py"', "unknown key 'engnie'; did you mean 'engine'?"),
            ("min_score = 90", "unknown key 'min_score'; did you mean 'min-score'?"),
            ("min-score = 120", "min-score must be a percentage from 0 to 100, got 120"),
            ('judge = "all"', 'judge must be one of "both", "battery", "tests"'),
            ("tests = 3", "tests must be a list of strings"),
            ('operators = ["sgin"]', "unknown operator(s) sgin"),
            ("timeout = true", "timeout must be a number, not true or false"),
            ("memory = 1", "memory must be a number in [64, 1.04858e+06]"),
            ('backward = "update grads"', "backward must be a method's name, got 'update grads'"),
            ("backward = 3", "backward must be a method's name, got 3"),
        ],
    )
    def test_bad_settings_are_usage_errors(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        table: str,
        said: str,
    ) -> None:
        """Each names the file, the key and what was expected; exit 2, no traceback."""
        monkeypatch.chdir(project(tmp_path, table))
        with pytest.raises(ConfigError, match=r"pyproject\.toml"):
            find_config()
        assert main(["gradcheck"]) == 2
        err = capsys.readouterr().err
        assert said in err and "Traceback" not in err

    def test_broken_toml(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        (tmp_path / "pyproject.toml").write_text("[tool.minigrad\n")
        monkeypatch.chdir(tmp_path)
        assert main(["gradcheck"]) == 2
        assert "pyproject.toml is not valid TOML" in capsys.readouterr().err


@pytest.mark.campaign
class TestUsing:
    def test_a_bare_command_uses_the_settings(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`minigrad gradcheck` with no flags checks the configured engine."""
        engine = tmp_path / "eng.py"
        engine.write_text((ENGINES / "microstyle.py").read_text())
        monkeypatch.chdir(project(tmp_path, 'engine = "eng.py"'))
        assert main(["gradcheck"]) == 0
        assert "engine eng.py" in capsys.readouterr().out

    def test_flags_override_settings(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--engine beats the setting (here, a setting naming a file that does not exist)."""
        monkeypatch.chdir(project(tmp_path, 'engine = "missing.py"'))
        assert main(["gradcheck"]) == 2
        assert "engine file not found" in capsys.readouterr().err
        assert main(["gradcheck", "--engine", str(ENGINES / "microstyle.py")]) == 0

    def test_help_says_where_a_default_came_from(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.chdir(project(tmp_path, 'engine = "eng.py"\nmin-score = 90'))
        with pytest.raises(SystemExit):
            main(["mutate", "--help"])
        out = " ".join(capsys.readouterr().out.split())
        assert "(default: eng.py, from pyproject.toml [tool.minigrad])" in out
        assert "(default: 90.0, from pyproject.toml [tool.minigrad])" in out
        assert "(default: 2048)" in out or "MIB" in out  # others: minigrad's own defaults
