"""The engine adapter: specs, the snapshot, and what discovery finds in each style of engine.

Modules: minigrad_tool.adapter.profile, minigrad_tool.adapter.spec, minigrad_tool.adapter.trace,
minigrad_tool.adapter.loader, minigrad_tool.installed.
"""

from __future__ import annotations

import importlib.machinery
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from minigrad_tool.adapter import EngineError, Profile, load_in_process, parse_spec, profile_engine
from minigrad_tool.adapter.loader import (
    engine_modules,
    forget_engine_folder,
    forget_modules,
    installed_elsewhere,
    plain_path,
)
from minigrad_tool.adapter.nodes import NodeAccess, NotANumber, real
from minigrad_tool.installed import installed_below, source_files
from minigrad_tool.isolation import Limits

ENGINES = Path(__file__).parent / "engines"
LIMITS = Limits(timeout=30)


def profile(spec: str) -> Profile:
    return profile_engine(parse_spec(spec), LIMITS)[1]


def steps(p: Profile) -> dict[str, tuple[str, ...]]:
    return {op.name: tuple(s.style for s in op.steps) for op in p.ops}


class TestForgettingModules:
    """Before your tests' host collects them, modules loaded from the test folders or the
    engine's folder are dropped from sys.modules, links followed either way (a file that is a
    link into the folder, a folder reached through a link), and nothing else is."""

    @pytest.fixture
    def tree(self, tmp_path: Path) -> Path:
        (tmp_path / "tests").mkdir()
        (tmp_path / "tests" / "test_x.py").write_text("")
        (tmp_path / "engine").mkdir()
        (tmp_path / "engine" / "engine.py").write_text("class Value:\n    pass\n")
        (tmp_path / "elsewhere").mkdir()
        (tmp_path / "elsewhere" / "helper.py").write_text("")
        (tmp_path / "link_into_tests.py").symlink_to(tmp_path / "tests" / "test_x.py")
        (tmp_path / "tests_again").symlink_to(tmp_path / "tests")
        (tmp_path / "engine_again").symlink_to(tmp_path / "engine")
        return tmp_path

    def _loaded(self, monkeypatch: pytest.MonkeyPatch, files: dict[str, Path]) -> None:
        for name, file in files.items():
            module = types.ModuleType(name)
            module.__file__ = str(file)
            monkeypatch.setitem(sys.modules, name, module)

    def test_from_the_test_folders(self, tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        files = {
            "fake_in_tests": tree / "tests" / "a.py",
            "fake_via_a_linked_folder": tree / "tests_again" / "b.py",
            "fake_a_link_into_tests": tree / "link_into_tests.py",
            "fake_elsewhere": tree / "elsewhere" / "helper.py",
            "fake_nul": Path("/no\0where.py"),
        }
        self._loaded(monkeypatch, files)
        forget_modules([str(tree / "tests")])
        kept = {name for name in files if name in sys.modules}
        assert kept == {"fake_elsewhere", "fake_nul"}

    def test_from_the_engine_folder(self, tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        files = {
            "fake_sibling": tree / "engine" / "gradcheck.py",
            "fake_sibling_via_a_link": tree / "engine_again" / "nn.py",
            "fake_in_tests": tree / "tests" / "test_x.py",
            "minigrad_tool_fake": tree / "engine" / "ours.py",  # minigrad's own: kept
        }
        self._loaded(monkeypatch, files)
        forget_engine_folder(parse_spec(str(tree / "engine" / "engine.py")))
        kept = {name for name in files if name in sys.modules}
        assert kept == {"fake_in_tests", "minigrad_tool_fake"}


class TestInstalledCode:
    """What is installed below a user's folder (a flat project's `.venv`) is not theirs."""

    def test_an_environment_inside_a_folder_is_installed_code_below_it(
        self, tmp_path: Path
    ) -> None:
        prefix = os.path.join(sys.prefix, "")
        assert prefix in installed_below([os.path.dirname(sys.prefix)])
        assert prefix not in installed_below([sys.prefix])  # a folder is not below itself
        assert installed_below([str(tmp_path)]) == ()

    def test_a_walk_of_a_users_folder_enters_no_environment(self, tmp_path: Path) -> None:
        wrote = ["engine.py", "tests/test_engine.py", "venvish/helper.py"]
        installed = [".venv/lib/site.py", "env/lib/os.py", "node_modules/x.py", ".hidden/y.py"]
        other = [".engine.py.swp", "cache/kept.py", "tests/data.json"]
        for name in [*wrote, *installed, *other]:
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text("")
        for environment in (".venv", "env"):
            (tmp_path / environment / "pyvenv.cfg").write_text("home = /usr/bin\n")
        found = [p.relative_to(tmp_path).as_posix() for p in source_files(tmp_path)]
        assert found == sorted([*wrote, "cache/kept.py"])
        every = source_files(tmp_path, "*", {(tmp_path / "cache").resolve()})
        assert [p.relative_to(tmp_path).as_posix() for p in every] == sorted(
            [*wrote, "tests/data.json"]
        )
        assert source_files(tmp_path / "nowhere") == []


class TestEngineModules:
    """The modules loaded from the engine's file, by whatever path (a link to it, a folder
    linked to its folder), and no other; each module's file is looked up once per process,
    not on every scan (a campaign scans once per test whose habits it records)."""

    def test_by_any_path_once(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        (tmp_path / "pkg").mkdir()
        engine = tmp_path / "pkg" / "engine.py"
        engine.write_text("")
        (tmp_path / "pkg" / "other.py").write_text("")
        (tmp_path / "link.py").symlink_to(engine)
        (tmp_path / "pkg_again").symlink_to(tmp_path / "pkg")
        files = {
            "fake_engine": engine,
            "fake_engine_by_link": tmp_path / "link.py",
            "fake_engine_by_folder": tmp_path / "pkg_again" / "engine.py",
            "fake_other": tmp_path / "pkg" / "other.py",
            "fake_gone": tmp_path / "gone.py",
        }
        modules = {}
        for name, file in files.items():
            modules[name] = types.ModuleType(name)
            modules[name].__file__ = str(file)
            monkeypatch.setitem(sys.modules, name, modules[name])
        found = engine_modules(engine)
        assert [m.__name__ for m in found if m.__name__.startswith("fake_")] == [
            "fake_engine",
            "fake_engine_by_link",
            "fake_engine_by_folder",
        ]
        looked_up: list[object] = []
        real_stat = os.stat
        monkeypatch.setattr(os, "stat", lambda *a, **k: looked_up.append(a) or real_stat(*a, **k))
        assert engine_modules(engine) == found
        assert looked_up == []


class TestAnotherCopyOnThePath:
    """Where a plain `pytest` imports the engine's package from (loader.installed_elsewhere),
    on sys.path as it has it (loader.plain_path)."""

    def test_the_folder_minigrad_put_first_is_left_out(self) -> None:
        assert plain_path(["/bin", "/site"], ["/src", "/bin", "/site"], "/src") == ["/bin", "/site"]

    def test_pytests_own_pythonpath_entry_stays(self) -> None:
        """`pythonpath = ["src"]`: pytest put it first too, after minigrad did."""
        current = ["/src", "/tests", "/src", "/bin", "/site"]
        assert plain_path(["/bin", "/site"], current, "/src") == ["/src", "/tests", "/bin", "/site"]

    def test_an_editable_install_keeps_its_place(self) -> None:
        """A .pth put src/ after site-packages: plain pytest finds a copy there first."""
        assert plain_path(["/site", "/src"], ["/src", "/site"], "/src") == ["/site", "/src"]

    @staticmethod
    def _package(root: Path, body: str = "") -> Path:
        (root / "pkg").mkdir(parents=True)
        (root / "pkg" / "__init__.py").write_text("")
        (root / "pkg" / "engine.py").write_text(body or "class Value: pass\n")
        return root / "pkg" / "engine.py"

    def test_a_copy_first_on_the_path_is_named(self, tmp_path: Path) -> None:
        spec = parse_spec(str(self._package(tmp_path / "src")))
        self._package(tmp_path / "site", "raise SystemExit('never run')\n")
        path = [str(tmp_path / "site"), str(tmp_path / "src")]
        assert installed_elsewhere(spec, path) == str(tmp_path / "site" / "pkg")
        assert installed_elsewhere(spec, path[::-1]) == ""  # its own folder comes first
        assert installed_elsewhere(spec, [str(tmp_path / "nowhere")]) == ""

    def test_an_engine_named_as_a_module_is_its_install(self) -> None:
        """`--engine wave`: the module found on the path is the engine, wherever it is."""
        assert installed_elsewhere(parse_spec("wave"), sys.path) == ""


class TestSpec:
    def test_module_is_found_without_importing_it(self) -> None:
        """A module name is located by the import system's finders: nothing is executed."""
        assert "wave" not in sys.modules
        spec = parse_spec("wave")
        assert (spec.path.name, spec.module) == ("wave.py", "wave")
        assert "wave" not in sys.modules

    def test_class_after_colon(self, tmp_path: Path) -> None:
        """`path:Class` and `module:Class` name the class; a drive letter is no class."""
        f = tmp_path / "eng.py"
        f.write_text("class A: pass\n")
        assert parse_spec(f"{f}:A").class_name == "A"
        assert parse_spec("minigrad.engine:Value").class_name == "Value"
        assert parse_spec(str(f)).class_name is None

    def test_file_in_a_package_imports_with_its_package(self, tmp_path: Path) -> None:
        """pkg/sub/mod.py imports as pkg.sub.mod from the folder above pkg."""
        (tmp_path / "pkg" / "sub").mkdir(parents=True)
        (tmp_path / "pkg" / "__init__.py").write_text("")
        (tmp_path / "pkg" / "sub" / "__init__.py").write_text("")
        (tmp_path / "pkg" / "sub" / "mod.py").write_text("X = 1\n")
        spec = parse_spec(str(tmp_path / "pkg" / "sub" / "mod.py"))
        assert (spec.module, spec.sys_path) == ("pkg.sub.mod", str(tmp_path.resolve()))

    def test_snapshot_is_read_once(self, tmp_path: Path) -> None:
        """The source is what the file held when the spec was made; changes are noticed."""
        f = tmp_path / "eng.py"
        f.write_text("A = 1\n")
        spec = parse_spec(str(f))
        f.write_text("A = 2\n")
        assert spec.source == "A = 1\n"
        assert spec.changed_on_disk()

    def test_latin1_source(self, tmp_path: Path) -> None:
        """A PEP 263 latin-1 file is decoded as Python decodes it."""
        f = tmp_path / "eng.py"
        f.write_bytes(b"# -*- coding: latin-1 -*-\nNAME = '\xe9t\xe9'\n")
        assert "été" in parse_spec(str(f)).source

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("missing_file.py", "engine file not found: missing_file.py"),
            ("no_such_module_xyz", "no module named 'no_such_module_xyz'"),
            ("json.no_such_sub", "no module named 'json.no_such_sub'"),
            ("sys", "has no Python source file"),
            ("math", "'math' is compiled code .*: name a Python module that imports its class"),
            ("", "needs a .py path or a module name"),
            ("not a module!", "neither a .py file nor a module name"),
        ],
    )
    def test_bad_specs(self, text: str, message: str) -> None:
        """Each unusable spec is an EngineError that says why."""
        with pytest.raises(EngineError, match=message):
            parse_spec(text)

    @pytest.mark.parametrize(
        ("files", "text", "said"),
        [
            (["src/labpkg_q/__init__.py"], "labpkg_q:Value", "src/labpkg_q/__init__.py:Value"),
            (["src/labpkg_q/__init__.py", "src/labpkg_q/core.py"], "labpkg_q.core", None),
            (["lab_engine_q.py"], "lab_engine_q:Value", "lab_engine_q.py:Value"),
        ],
    )
    def test_a_module_here_but_not_importable_names_the_path_to_pass(
        self,
        files: list[str],
        text: str,
        said: str | None,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """A src layout not installed (pytest's `pythonpath = ["src"]` imports it for the tests
        alone), or a file where the `minigrad` script runs (it does not import from there):
        the error names the file's path as what to pass."""
        for name in files:
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text("")
        monkeypatch.chdir(tmp_path)
        monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".")])
        with pytest.raises(EngineError) as raised:
            parse_spec(text)
        shown = said or files[-1]
        message = str(raised.value)
        assert f"; {shown.partition(':')[0]} is here, but not on this environment's" in message
        assert message.endswith(f"import path; pass its path: --engine {shown}")

    def test_a_folder_is_not_an_engine_file(self, tmp_path: Path) -> None:
        (tmp_path / "pkg").mkdir()
        with pytest.raises(EngineError, match=r"is a folder: pass the \.py file that defines"):
            parse_spec(f"{tmp_path / 'pkg'}:Value")

    def test_a_compiled_module_names_its_package(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A package's compiled engine module (kiwigrad 0.28's engine, a C extension) cannot
        be read: the error names the package, which may import its class, as what to pass."""
        package = tmp_path / "cpkg"
        package.mkdir()
        (package / "__init__.py").write_text("")
        (package / f"engine{importlib.machinery.EXTENSION_SUFFIXES[0]}").write_bytes(b"")
        monkeypatch.syspath_prepend(str(tmp_path))
        with pytest.raises(EngineError, match=r"compiled code .*\(its package, --engine cpkg,"):
            parse_spec("cpkg.engine:Value")

    def test_a_notebook_is_said_to_be_one(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`--engine lab.ipynb` (micrograd is often written in a notebook) says how to get a
        module from it; it read "no module named 'lab'"."""
        (tmp_path / "lab.ipynb").write_text('{"cells": [], "nbformat": 4}')
        monkeypatch.chdir(tmp_path)
        with pytest.raises(EngineError, match=r"is a notebook: .*nbconvert --to script lab\.ipynb"):
            parse_spec("lab.ipynb:Value")

    def test_not_a_py_file(self, tmp_path: Path) -> None:
        """A file that is not .py is refused."""
        f = tmp_path / "eng.txt"
        f.write_text("x")
        with pytest.raises(EngineError, match=r"must be a \.py source file"):
            parse_spec(str(f) + "/")  # a path by its slash; not a file either


class TestDiscoveryStyles:
    """One engine per style of attaching a backward step: each op's step is found."""

    @pytest.mark.parametrize(
        ("engine", "cls", "children", "expected"),
        [
            ("microstyle.py", "Value", "_prev", {"add": ("closure",), "relu": ("closure",)}),
            ("closure_named.py", "Scalar", "_children", {"add": ("closure",), "mul": ("closure",)}),
            ("lambda_setattr.py", "Value", "kids", {"add": ("lambda",), "neg": ("lambda",)}),
            (
                "local_grads.py",
                "Value",
                "_children",
                {"mul": ("local-grads",), "log": ("local-grads",)},
            ),
            (
                "function_class.py",
                "Value",
                "_prev",
                {"mul": ("function-class",), "tanh": ("function-class",)},
            ),
            ("keyword_forward.py", "Node", "prev", {"add": ("closure",), "exp": ("closure",)}),
            (  # each local derivative set by a statement of its own
                "grad_wrt.py",
                "Scalar",
                "parents",
                {"mul": ("local-grads",) * 2, "tanh": ("local-grads",)},
            ),
        ],
    )
    def test_steps_children_and_class(
        self, engine: str, cls: str, children: str, expected: dict[str, tuple[str, ...]]
    ) -> None:
        """The class (even not named Value), where children live, and each op's step style."""
        p = profile(str(ENGINES / engine))
        assert (p.class_name, p.children_attr) == (cls, children)
        found = steps(p)
        for op, styles in expected.items():
            assert found[op] == styles

    def test_local_grads_in_a_slot_named_by_a_string(self, tmp_path: Path) -> None:
        """`__slots__ = "_local_grads"` declares one slot (a string is not iterated): the
        local derivatives are found there as in a tuple of slots."""
        text = (ENGINES / "local_grads.py").read_text()
        slots = '    __slots__ = ("_children", "_local_grads", "data", "grad")\n'
        assert slots in text
        text = text.replace(
            "class Value:\n" + slots,
            'class Node:\n    __slots__ = ("_children", "data", "grad")\n\n\n'
            'class Value(Node):\n    __slots__ = "_local_grads"\n',
        )
        (tmp_path / "string_slots.py").write_text(text)
        found = steps(profile(f"{tmp_path / 'string_slots.py'}:Value"))
        assert found["mul"] == found["log"] == ("local-grads",)

    def test_local_grads_in_a_dict_bound_to_a_name_first(self, tmp_path: Path) -> None:
        """`local_gradients = {self: 1.0, other: 1.0}` passed on by name: the dict is the
        step, as microgpt's tuple is (the ops were "not mutated")."""
        text = (ENGINES / "local_grads.py").read_text()
        mul = "(self, other), (other.data, self.data))"
        assert mul in text
        text = text.replace(
            f"        return Value(self.data * other.data, {mul}",
            "        local = {self: other.data, other: self.data}\n"
            "        return Value(self.data * other.data, (self, other), local_grads=local)",
        ).replace("zip(v._children, v._local_grads, strict=True)", "v._local_grads.items()")
        (tmp_path / "dict_grads.py").write_text(text.replace("(1, 1))", "{self: 1, other: 1})"))
        found = steps(profile(str(tmp_path / "dict_grads.py")))
        assert found["mul"] == found["add"] == found["log"] == ("local-grads",)

    def test_local_grads_stored_by_unpacking_a_tuple(self, tmp_path: Path) -> None:
        """`self._children, self._local_grads = tuple(children), tuple(local_grads)`: the
        constructor's parameter is found in the unpacking (add and mul were "not mutated")."""
        text = (ENGINES / "local_grads.py").read_text()
        stored = "        self._children = children\n        self._local_grads = local_grads\n"
        assert stored in text
        unpacked = (
            "        self._children, self._local_grads = tuple(children), tuple(local_grads)\n"
        )
        (tmp_path / "unpacked.py").write_text(text.replace(stored, unpacked))
        found = steps(profile(str(tmp_path / "unpacked.py")))
        assert found["mul"] == found["log"] == ("local-grads",)

    def test_our_engine_has_method_steps(self) -> None:
        """minigrad's own steps are methods beside each op; reflected ops are built from others."""
        p = profile("minigrad.engine")
        found = steps(p)
        assert found["mul"] == ("method",)
        assert found["vpow"] == ("method",) and found["rpow"] == ("method",)
        assert p.op("rsub").uses == ("sub",)
        assert p.sweep is not None and p.sweep.qualname == "Value.backward"

    def test_composites_name_the_ops_they_use(self) -> None:
        """micrograd-style sub is `self + (-other)`: no step of its own, built from add and mul."""
        p = profile(str(ENGINES / "microstyle.py"))
        assert p.op("sub").composite
        assert set(p.op("sub").uses) == {"add", "mul"}

    def test_every_op_is_found(self) -> None:
        """Dunders beyond micrograd's (abs, +x, 2 ** x, x ** y) and named methods, known or not."""
        p = profile(str(ENGINES / "extra_ops.py"))
        names = {op.name for op in p.ops}
        assert {"abs", "pos", "rpow", "vpow", "sigmoid", "sin", "softplus", "logcosh"} <= names
        assert p.op("logcosh").oracle is None
        assert "domain search" in p.op("logcosh").note
        assert len(p.op("logcosh").points) == 3
        assert p.op("sigmoid").oracle == "sigmoid"

    def test_aliases_get_oracles(self, tmp_path: Path) -> None:
        """`ln`, `reLU` and `__exp__` answer to log, relu and exp."""
        f = tmp_path / "aliases.py"
        f.write_text(
            (ENGINES / "relu_one.py").read_text().replace("def relu(self):", "def reLU(self):")
        )
        p = profile(str(f))
        assert p.op("reLU").oracle == "relu"
        assert p.method_for("relu") == "reLU"

    def test_precision(self) -> None:
        """float64 and float32 engines are told apart by measurement."""
        assert profile("minigrad.engine").precision.name == "float64"
        assert profile(str(ENGINES / "float32.py")).precision.name == "float32"

    def test_methods_that_take_arguments_are_not_called(self) -> None:
        """A method with a required argument is listed, not guessed at."""
        p = profile(str(ENGINES / "closure_named.py"))
        assert all(method != "__init__" for method, _ in p.skipped)

    def test_round_trip_through_json(self) -> None:
        """The profile crosses process boundaries as JSON, unchanged."""
        p = profile(str(ENGINES / "local_grads.py"))
        import json

        assert Profile.from_dict(json.loads(p.to_json())) == p


class TestClassChoice:
    def _engine(self, tmp_path: Path, body: str) -> str:
        f = tmp_path / "eng.py"
        f.write_text(body)
        return str(f)

    NODE = (
        "class {name}:\n"
        "    def __init__(self, data): self.data, self.grad = data, 0.0\n"
        "    def backward(self): self.grad = 1.0\n"
    )

    def test_the_one_node_class(self, tmp_path: Path) -> None:
        """Without Value, the one class whose instances carry data, grad and backward()."""
        p = profile(
            self._engine(tmp_path, self.NODE.format(name="Tensorish") + "class Other: pass\n")
        )
        assert p.class_name == "Tensorish"

    def test_ambiguous(self, tmp_path: Path) -> None:
        """Two candidates: exit-2 error listing both, and how to pick one."""
        body = self.NODE.format(name="A") + self.NODE.format(name="B")
        with pytest.raises(EngineError, match=r"several node classes \(A, B\).*:A"):
            profile(self._engine(tmp_path, body))

    def test_missing(self, tmp_path: Path) -> None:
        """No candidate at all: says so."""
        with pytest.raises(EngineError, match="has no Value class"):
            profile(self._engine(tmp_path, "X = 1\n"))

    def test_named_class_missing(self, tmp_path: Path) -> None:
        """`:CLASS` that is not there lists the classes that are."""
        path = self._engine(tmp_path, self.NODE.format(name="A"))
        with pytest.raises(EngineError, match=r"has no class 'B'.*classes with a backward\(\): A"):
            profile(f"{path}:B")

    def test_a_package_that_imports_the_module_but_not_the_class(self, tmp_path: Path) -> None:
        """pytorch-mini's `minitorch` imports its module `tensor`, not `Tensor`: `--engine
        minitorch:Tensor` says which module defines it and how to name it."""
        pkg = tmp_path / "enginepkg_module_only"
        pkg.mkdir()
        (pkg / "__init__.py").write_text("from . import tensor\n")
        (pkg / "tensor.py").write_text(self.NODE.format(name="Tensor"))
        with pytest.raises(
            EngineError,
            match=r"has no class 'Tensor'; enginepkg_module_only\.tensor defines it: "
            r"use --engine enginepkg_module_only\.tensor:Tensor",
        ):
            profile(f"{pkg / '__init__.py'}:Tensor")

    def test_package_that_reexports_is_followed(self, tmp_path: Path) -> None:
        """A package whose __init__ re-exports the class: the defining module is checked."""
        pkg = tmp_path / "enginepkg_reexport"
        pkg.mkdir()
        (pkg / "__init__.py").write_text("from .core import Scalar\n")
        (pkg / "core.py").write_text((ENGINES / "closure_named.py").read_text())
        spec, p = profile_engine(parse_spec(str(pkg / "__init__.py")), LIMITS)
        assert spec.path.name == "core.py"
        assert p.class_name == "Scalar"

    def test_subclass_alias(self, tmp_path: Path) -> None:
        """`Value = _Sub(Value)`: the methods of the base class are found and mutable."""
        body = (
            ENGINES / "microstyle.py"
        ).read_text() + "\n\nclass _Sub(Value):\n    pass\n\n\nValue = _Sub\n"
        p = profile(self._engine(tmp_path, body))
        assert steps(p)["add"] == ("closure",)


class TestNoFilesWritten:
    def test_no_bytecode_beside_the_engine(self, tmp_path: Path) -> None:
        """Loading an engine (in a child) writes no __pycache__ next to it."""
        f = tmp_path / "eng.py"
        f.write_text((ENGINES / "microstyle.py").read_text())
        (tmp_path / "helper_mod.py").write_text("X = 1\n")
        f.write_text(f.read_text() + "\nimport helper_mod  # noqa\n")
        profile(str(f))
        assert not (tmp_path / "__pycache__").exists()

    @staticmethod
    def _engine_with_helper(folder: Path) -> Path:
        folder.mkdir()
        (folder / "helper_mod.py").write_text("X = 1\n")
        f = folder / "eng.py"
        f.write_text((ENGINES / "microstyle.py").read_text() + "\nimport helper_mod  # noqa\n")
        return f

    def test_bytecode_goes_to_the_cache_folder(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With $MINIGRAD_CACHE set, the .pyc of a module the engine imports lands there."""
        cache = tmp_path / "cache"
        monkeypatch.setenv("MINIGRAD_CACHE", str(cache))
        f = self._engine_with_helper(tmp_path / "project")
        profile(str(f))
        assert not (f.parent / "__pycache__").exists()
        assert [p.name for p in cache.rglob("helper_mod*.pyc")] == [
            f"helper_mod.{sys.implementation.cache_tag}.pyc"
        ]
        assert not list(cache.rglob("eng*.pyc"))  # the engine runs from its snapshot

    @pytest.mark.parametrize(
        ("name", "folder"), [("NUMBA_CACHE_DIR", "numba"), ("CUPY_CACHE_DIR", "cupy")]
    )
    def test_compiled_kernels_go_to_the_cache_folder_unless_you_say_where(
        self, tmp_path: Path, name: str, folder: str
    ) -> None:
        """`@njit(cache=True)` writes beside its source (your tree) or in ~/.cache, which a
        confined child may not: eazygrad 0.0.2's import failed ("no locator available");
        `import cupy` makes ~/.cupy: minigrad-python 0.1.1's failed ("Permission denied")."""
        said = (
            "from minigrad_tool.bytecode import keep_bytecode_out_of_tree\n"
            "keep_bytecode_out_of_tree()\n"
            "import os\n"
            f"print(os.environ.get({name!r}))\n"
        )
        env = {k: v for k, v in os.environ.items() if k != name}
        env["MINIGRAD_CACHE"] = str(tmp_path / "cache")

        def where(**more: str) -> str:
            run = subprocess.run(
                [sys.executable, "-c", said], env={**env, **more}, capture_output=True, text=True
            )
            assert run.returncode == 0, run.stderr
            return run.stdout.strip()

        assert where() == str((tmp_path / "cache").resolve() / folder)
        assert where(**{name: str(tmp_path / "mine")}) == str(tmp_path / "mine")

    def test_cache_off_writes_no_bytecode(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("MINIGRAD_CACHE", "off")
        f = self._engine_with_helper(tmp_path / "project")
        profile(str(f))
        assert not list(tmp_path.rglob("*.pyc"))


class TestNodes:
    @pytest.mark.parametrize("bad", [1j, "1.0", None, [1.0, 2.0]])
    def test_not_a_number(self, bad: object) -> None:
        """A data or grad that is not one real number is said to be so."""
        with pytest.raises(NotANumber, match="not a real number"):
            real(bad, "grad")

    def test_infer_children(self) -> None:
        """Children are found under the usual names."""
        loaded = load_in_process("minigrad.engine")
        out = loaded.cls(1.0) * 2.0
        assert NodeAccess.infer(out).children_attr == "_prev"
