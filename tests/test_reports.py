"""Pictures: the HTML mutation report and the eps sweep."""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from minigrad.battery import BATTERY
from minigrad.engines import load_engine
from minigrad.eps_sweep import FUNCTIONS, OPTIMUM, eps_grid, slope, sweep
from minigrad.mutation.html_report import render_html
from minigrad.mutation.report import schema_report
from minigrad.mutation.runner import CampaignConfig, run_campaign

ROOT = Path(__file__).resolve().parents[1]


class MutantCollector(HTMLParser):
    """Collect data-mutant-id/data-status pairs and every external reference."""

    def __init__(self) -> None:
        super().__init__()
        self.statuses: dict[str, str] = {}
        self.external: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if "data-mutant-id" in values:
            self.statuses[str(values["data-mutant-id"])] = str(values["data-status"])
        for key in ("src", "href"):
            link = values.get(key)
            if link and not link.startswith("#"):
                self.external.append(link)
        self.scripts += tag == "script"


@pytest.fixture(scope="module")
def weak_campaign():  # type: ignore[no-untyped-def]
    """A small campaign with killed, equivalent and surviving mutants."""
    cases = tuple(c for c in BATTERY if c.group == "op")
    return run_campaign(load_engine(), CampaignConfig(operators=("topo", "chain")), cases=cases)


@pytest.mark.campaign
class TestHtmlReport:
    def test_every_mutant_with_its_status(self, weak_campaign) -> None:  # type: ignore[no-untyped-def]
        """Each mutant of the JSON report appears in the HTML with the same status."""
        parser = MutantCollector()
        parser.feed(render_html(weak_campaign))
        report = schema_report([weak_campaign])
        (entry,) = report["files"].values()
        assert parser.statuses == {m["id"]: m["status"] for m in entry["mutants"]}
        assert {"Killed", "Survived", "Ignored"} <= set(parser.statuses.values())

    def test_self_contained(self, weak_campaign) -> None:  # type: ignore[no-untyped-def]
        """No scripts and no links out: it opens from disk with no network."""
        parser = MutantCollector()
        page = render_html(weak_campaign)
        parser.feed(page)
        assert parser.external == []
        assert parser.scripts == 0
        assert "http" not in page.replace("http-equiv", "")

    def test_survivor_shows_diff_and_witness(self, weak_campaign) -> None:  # type: ignore[no-untyped-def]
        """A survivor's section has its diff and its distinguishing input; sources are marked."""
        page = render_html(weak_campaign)
        survivor = next(r for r in weak_campaign.results if r.distinguishing)
        section = page[page.index(f'id="m-{survivor.mutant.id}"') :]
        section = section[: section.index("</section>")]
        assert "Distinguishing input" in section
        assert '<span class="add">' in section and '<span class="del">' in section
        assert '<div class="line survived">' in page
        assert "<h3>Value._add_backward</h3>" in page

    def test_cli_writes_html(self, tmp_path: Path) -> None:
        """minigrad mutate --html writes the page."""
        out = tmp_path / "report.html"
        from minigrad.cli import main

        assert (
            main(
                [
                    "mutate",
                    "--operators",
                    "topo",
                    "--html",
                    str(out),
                    "--json",
                    str(tmp_path / "r.json"),
                ]
            )
            == 0
        )
        parser = MutantCollector()
        parser.feed(out.read_text())
        statuses = {
            m["id"]: m["status"]
            for m in json.loads((tmp_path / "r.json").read_text())["files"].popitem()[1]["mutants"]
        }
        assert parser.statuses == statuses


class TestEpsSweep:
    def test_both_regimes(self) -> None:
        """Truncation gives slope 2 at large eps; cancellation about -1 at tiny eps."""
        result = sweep(FUNCTIONS[:3])
        for errors in result.errors.values():
            assert slope(result.eps, errors, 1e-3, 1e-1) == pytest.approx(2.0, abs=0.1)
            assert -1.6 < slope(result.eps, errors, 1e-14, 1e-9) < -0.6

    def test_default_eps_near_optimum(self) -> None:
        """The default eps sits near (3 macheps)^(1/3), where the error is smallest."""
        assert pytest.approx(8.7e-6, rel=0.01) == OPTIMUM
        result = sweep(FUNCTIONS[:1])
        errors = result.errors[FUNCTIONS[0].label]
        best = result.eps[errors.index(min(errors))]
        assert 1e-7 <= best <= 1e-4

    def test_grid_and_table(self) -> None:
        """The grid spans 1e-1 to 1e-14; the table marks the default."""
        grid = eps_grid()
        assert grid[0] == pytest.approx(1e-1) and grid[-1] == pytest.approx(1e-14)
        assert len(grid) == 27
        table = sweep(FUNCTIONS[:1], [1e-3, 1e-5]).table()
        assert "1.0e-05" in table and "<- default" in table

    def test_slope_needs_points(self) -> None:
        """A fit over fewer than two points is an error."""
        with pytest.raises(ValueError, match="need two or more eps"):
            slope([1e-3], [1e-7], 1e-4, 1e-2)

    @pytest.mark.slow
    def test_script_writes_png(self, tmp_path: Path) -> None:
        """scripts/eps_sweep.py prints the table and writes a PNG."""
        out = tmp_path / "eps.png"
        proc = subprocess.run(
            [sys.executable, "scripts/eps_sweep.py", "--out", str(out)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert "truncation +2.00" in proc.stdout
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
