"""Reports: the schema JSON, the self-contained HTML, and merging shard reports safely.

Modules: minigrad_tool.report.
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from minigrad_tool.adapter import load_in_process
from minigrad_tool.adapter.source import SourceIndex
from minigrad_tool.check import settings_for
from minigrad_tool.cli import main
from minigrad_tool.mutation.campaign import run_campaign
from minigrad_tool.mutation.judging import CampaignConfig
from minigrad_tool.mutation.results import Campaign, Status
from minigrad_tool.report.html import render_html
from minigrad_tool.report.merge import MergeError, merge_reports, read_report, score_of
from minigrad_tool.report.schema import schema_report

ENGINES = Path(__file__).parent / "engines"


class Page(HTMLParser):
    """Collect data-mutant-id/data-status pairs, headings, anchors and external references."""

    def __init__(self) -> None:
        super().__init__()
        self.statuses: dict[str, str] = {}
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.external: list[str] = []
        self.scripts = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if "data-mutant-id" in values:
            self.statuses[str(values["data-mutant-id"])] = str(values["data-status"])
        if values.get("id"):
            self.ids.add(str(values["id"]))
        for key in ("src", "href"):
            link = values.get(key)
            if link and link.startswith("#"):
                self.links.append(link[1:])
            elif link:
                self.external.append(link)
        self.scripts += tag == "script"

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture(scope="module")
def weak() -> Campaign:
    """A small campaign with killed, equivalent and surviving mutants (the edge cases judge)."""
    loaded = load_in_process(str(ENGINES / "microstyle.py"))
    config = CampaignConfig(jobs=2, groups=("edge",), settings=settings_for(loaded.profile))
    return run_campaign(loaded.spec, loaded.profile, config)


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {m["id"]: m["status"] for e in report["files"].values() for m in e["mutants"]}


@pytest.mark.campaign
class TestSchemaAndHtml:
    def test_json_fields(self, weak: Campaign) -> None:
        """schemaVersion 2, a location per mutant, and the run's identity and shard."""
        report = schema_report([weak])
        assert report["schemaVersion"] == "2"
        config = report["config"]
        assert config["shard"] == {"index": 1, "count": 1}
        assert config["mutants"] == len(weak.results) and len(config["run"]) == 16
        mutant = next(iter(report["files"].values()))["mutants"][0]
        assert set(mutant) >= {"id", "mutatorName", "location", "status", "killedBy", "coveredBy"}

    def test_every_mutant_with_its_status(self, weak: Campaign) -> None:
        """Each mutant of the JSON report appears in the HTML with the same status."""
        page = Page()
        page.feed(render_html(weak, lambda file: SourceIndex.parse(weak.source)))
        assert page.statuses == statuses(schema_report([weak]))
        assert {"Killed", "Survived"} <= set(page.statuses.values())

    def test_self_contained_and_linked(self, weak: Campaign) -> None:
        """No scripts, no links out; every table cell links to its group of mutants."""
        page = Page()
        page.feed(render_html(weak, lambda file: SourceIndex.parse(weak.source)))
        assert page.scripts == 0 and page.external == []
        assert {link for link in page.links if link.startswith("cell-")} <= page.ids
        assert any(link.startswith("cell-add-") for link in page.links)

    def test_cards_are_headed_by_the_mutated_function(self, weak: Campaign) -> None:
        """A mutant card names the function whose line it changes, and the engine path once."""
        html = render_html(weak, lambda file: SourceIndex.parse(weak.source))
        result = next(r for r in weak.results if r.mutant.op == "add")
        assert (
            f"<h3>{result.mutant.function}, line {result.mutant.start[0]}: {result.mutant.id}"
            in html
        )
        assert html.count(weak.path) == 1


ENGINES = Path(__file__).parent / "engines"


def _shard(tmp_path: Path, i: int, n: int, engine: str = str(ENGINES / "microstyle.py")) -> Path:
    path = tmp_path / f"s{i}of{n}.json"
    code = main(
        [
            "mutate",
            "--engine",
            engine,
            "--operators",
            "sign,assign",
            "--shard",
            f"{i}/{n}",
            "--json",
            str(path),
            "--min-score",
            "0",
        ]
    )
    assert code == 0
    return path


@pytest.fixture(scope="module", autouse=True)
def _one_graph_order() -> Iterator[None]:
    """Merging does not depend on graph orders: judge the set-ordered engine in one, faster."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MINIGRAD_ORDERS", "1")
        yield


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    tmp = tmp_path_factory.mktemp("shards")
    return [_shard(tmp, i, 3) for i in (1, 2, 3)]


@pytest.mark.campaign
class TestMerge:
    @pytest.mark.e2e
    def test_merge_equals_unsharded(self, shards: list[Path], tmp_path: Path) -> None:
        """Three shards merged give the verdicts of one unsharded run."""
        merged = merge_reports([(p, read_report(p)) for p in shards])
        whole = read_report(_shard(tmp_path, 1, 1))
        assert statuses(merged) == statuses(whole)
        assert score_of(merged)[0] == score_of(whole)[0] == 100.0

    def test_missing_shard(self, shards: list[Path]) -> None:
        """2 of 3 shards: an error naming the missing one, never a partial 100%."""
        with pytest.raises(MergeError, match=r"shard\(s\) 3 of 3 are missing"):
            merge_reports([(p, read_report(p)) for p in shards[:2]])

    def test_duplicate_shard_under_two_paths(self, shards: list[Path], tmp_path: Path) -> None:
        """The same shard given twice, even under another name, is refused."""
        copy = tmp_path / "copy.json"
        copy.write_bytes(shards[0].read_bytes())
        with pytest.raises(MergeError, match="are the same shard report"):
            merge_reports([(p, read_report(p)) for p in [*shards, copy]])

    def test_foreign_shard(self, shards: list[Path], tmp_path: Path) -> None:
        """A shard of another engine's run is named as foreign."""
        other = _shard(tmp_path, 3, 3, str(ENGINES / "closure_named.py"))
        with pytest.raises(MergeError, match=r"s3of3\.json .* is not from the same run"):
            merge_reports([(p, read_report(p)) for p in [*shards[:2], other]])

    def test_the_merged_score_says_what_was_left_out(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Lines marked `# pragma: no mutate`: the merged score line counts their mutants, as
        each shard's does."""
        source = (ENGINES / "microstyle.py").read_text()
        line = "            self.grad += other.data * out.grad\n"
        marked = tmp_path / "marked.py"
        marked.write_text(source.replace(line, line[:-1] + "  # pragma: no mutate\n"))
        parts = [_shard(tmp_path, i, 2, str(marked)) for i in (1, 2)]
        left = read_report(parts[0])["config"]["noMutate"]
        assert [entry["id"] for entry in left] == ["mul-sign", "mul-assign"]
        capsys.readouterr()
        assert main(["merge", *map(str, parts)]) == 0
        assert "; 2 left out by `# pragma: no mutate` (config.noMutate)" in capsys.readouterr().out

    def test_cli_exit_codes(self, shards: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
        """merge: 0 at the threshold, 2 with a shard missing."""
        assert main(["merge", *map(str, shards)]) == 0
        assert "mutation score: 100.0%" in capsys.readouterr().out
        assert main(["merge", str(shards[0])]) == 2
        assert "missing" in capsys.readouterr().err


class TestReadReport:
    @pytest.mark.parametrize(
        ("content", "message"),
        [
            ("[]", "the top level is not an object"),
            ('{"schemaVersion": "2"}', "no `files` object"),
            ('{"schemaVersion": "1", "files": {}}', 'schemaVersion is not "2"'),
            ('{"schemaVersion": "2", "files": {}, "config": {}}', "config.shard is not"),
            ("{" * 100_000, "nested too deeply|not JSON"),
            ("not json", "is not JSON"),
        ],
    )
    def test_malformed(self, content: str, message: str, tmp_path: Path) -> None:
        """Each malformed report is a MergeError naming the file and the problem."""
        path = tmp_path / "r.json"
        path.write_text(content)
        with pytest.raises(MergeError, match=message):
            read_report(path)

    @pytest.mark.parametrize("path", ["/dev/zero", "."])
    def test_not_a_file(self, path: str) -> None:
        """A device or a directory is refused without reading it."""
        with pytest.raises(MergeError, match="is not a regular file"):
            read_report(Path(path))

    def test_nothing_judged_has_no_score(self) -> None:
        """An empty or all-equivalent report has no score, not 100%."""
        report = {"files": {"e.py": {"mutants": [{"status": "Ignored"}]}}}
        assert score_of(report) == (None, {"Ignored": 1})
        covered = {"files": {"e.py": {"mutants": [{"status": "NoCoverage"}]}}}
        assert score_of(covered)[0] == 0.0

    @pytest.mark.parametrize("bad", ["nan", "101", "-1", "inf"])
    def test_min_score_is_a_percentage(self, bad: str) -> None:
        """--min-score must be a number from 0 to 100, for mutate and merge alike."""
        for command in (["mutate"], ["merge", "r.json"]):
            with pytest.raises(SystemExit) as info:
                main([*command, "--min-score", bad])
            assert info.value.code == 2


class TestMergeRefusesBadNumbers:
    @pytest.mark.parametrize(
        ("shard", "said"),
        [
            ('{"index": 1, "count": 10000000000000}', "count <= 10000"),
            ('{"index": 1, "count": ' + "9" * 5000 + "}", "is not a report"),
            ('{"index": true, "count": 1}', "count <= 10000"),
        ],
        ids=["10^13 shards", "5000 digits", "a bool"],
    )
    def test_one_line_and_exit_2(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], shard: str, said: str
    ) -> None:
        report = tmp_path / "s.json"
        report.write_text(
            '{"schemaVersion": "2", "files": {}, "config": {"run": "r", "mutants": 1, "shard": '
            + shard
            + "}}"
        )
        assert main(["merge", str(report)]) == 2
        err = capsys.readouterr().err
        assert said in err and "Traceback" not in err and err.count("\n") == 1

    def test_output_into_a_missing_folder(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        report = tmp_path / "s.json"
        report.write_text("{}")
        assert main(["merge", str(report), "--json", str(tmp_path / "no" / "m.json")]) == 2
        assert "does not exist" in capsys.readouterr().err


@pytest.mark.campaign
class TestCi:
    def test_github_annotations_point_at_the_lines(self, weak: Campaign) -> None:
        """One `::error` per survivor or uncovered mutant, on its line, escaped as GitHub
        wants (a ':' in a property is %3A)."""
        from minigrad_tool.report.ci import github_annotations

        lines = github_annotations(weak)
        through = [r for r in weak.results if r.status.let_through]
        assert through and len(lines) == len(through)
        first = through[0]
        assert (
            lines[0].startswith("::error file=") and f",line={first.mutant.start[0]}," in lines[0]
        )
        assert (
            f"title=mutant survived%3A {first.mutant.id}::" in lines[0] or "not covered" in lines[0]
        )

    def test_junit_has_a_case_per_mutant(self, weak: Campaign, tmp_path: Path) -> None:
        """Failures are the mutants let through, with their diff; equivalents are skipped."""
        import xml.etree.ElementTree as ET

        from minigrad_tool.report.ci import junit_xml

        suite = ET.fromstring(junit_xml(weak))
        cases = suite.findall("testcase")
        assert len(cases) == len(weak.results) == int(suite.get("tests", "0"))
        failed = {c.get("name") for c in cases if c.find("failure") is not None}
        assert failed == {r.mutant.id for r in weak.results if r.status.let_through}
        skipped = {c.get("name") for c in cases if c.find("skipped") is not None}
        assert skipped == {r.mutant.id for r in weak.results if r.status is Status.EQUIVALENT}
        text = next(c for c in cases if c.find("failure") is not None).find("failure").text or ""
        assert "--- microstyle.py (original)" in text
