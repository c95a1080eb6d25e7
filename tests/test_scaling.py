"""Campaign scaling: shards partition the mutants, merge equals one run, fast equals slow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from minigrad.battery import Settings
from minigrad.cli import main
from minigrad.engines import load_engine
from minigrad.mutation.merge import MergeError, merge_reports, read_report, score_of
from minigrad.mutation.mutants import generate_mutants
from minigrad.mutation.report import schema_report
from minigrad.mutation.runner import CampaignConfig, Outcome, run_campaign, shard_of

MICROSTYLE = Path(__file__).parent / "engines" / "microstyle.py"
OPERATORS = ("sign", "assign", "chain", "topo")


def statuses(report: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {m["id"]: m["status"] for e in report["files"].values() for m in e["mutants"]}


class TestShards:
    @pytest.mark.parametrize("count", [1, 2, 3, 7])
    def test_shards_partition_the_mutants(self, count: int) -> None:
        """Every mutant is in exactly one shard, whatever the number of shards."""
        mutants = generate_mutants(load_engine().source)
        shards = [shard_of(mutants, (i, count)) for i in range(1, count + 1)]
        ids = [m.id for shard in shards for m in shard]
        assert sorted(ids) == sorted(m.id for m in mutants)
        assert len(ids) == len(set(ids))
        assert max(map(len, shards)) - min(map(len, shards)) <= 1

    def test_shards_are_deterministic(self) -> None:
        """The same shard holds the same mutants on every run."""
        source = load_engine().source
        first = [m.id for m in shard_of(generate_mutants(source), (2, 3))]
        assert first == [m.id for m in shard_of(generate_mutants(source), (2, 3))]

    @pytest.mark.parametrize("shard", [(0, 2), (3, 2)])
    def test_bad_shard(self, shard: tuple[int, int]) -> None:
        """Shard indices are 1-based and at most N."""
        with pytest.raises(ValueError, match="1 <= I <= N"):
            shard_of([], shard)


@pytest.mark.campaign
class TestMerge:
    def test_merge_equals_unsharded(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Two shards merged give the same verdicts and score as one unsharded run."""
        ops = ",".join(OPERATORS)
        paths = [tmp_path / f"s{i}.json" for i in (1, 2)]
        for i, path in enumerate(paths, start=1):
            assert (
                main(["mutate", "--operators", ops, "--shard", f"{i}/2", "--json", str(path)]) == 0
            )
        whole = tmp_path / "whole.json"
        assert main(["mutate", "--operators", ops, "--json", str(whole)]) == 0
        merged = tmp_path / "merged.json"
        assert main(["merge", *map(str, paths), "--json", str(merged)]) == 0
        assert "mutation score: 100.0%" in capsys.readouterr().out
        assert statuses(json.loads(merged.read_text())) == statuses(json.loads(whole.read_text()))

    def test_merge_rejects_overlap_and_mismatch(self, tmp_path: Path) -> None:
        """A mutant in two reports, or reports of different sources, cannot be merged."""
        campaign = run_campaign(load_engine(), CampaignConfig(operators=("topo",)))
        report = schema_report([campaign])
        with pytest.raises(MergeError, match="is in reports 1 and 2"):
            merge_reports([report, report])
        other = json.loads(json.dumps(report))
        for entry in other["files"].values():
            entry["source"] += "\n# changed\n"
            entry["mutants"] = []
        with pytest.raises(MergeError, match="different source"):
            merge_reports([report, other])

    def test_merge_exit_codes(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A missing or non-schema file exits 2; a survivor below --min-score exits 1."""
        assert main(["merge", str(tmp_path / "missing.json")]) == 2
        bad = tmp_path / "bad.json"
        bad.write_text('{"schemaVersion": "1"}')
        assert main(["merge", str(bad)]) == 2
        assert "not a mutation-testing-report-schema v2 report" in capsys.readouterr().err
        survivor = {
            "schemaVersion": "2",
            "thresholds": {"high": 100, "low": 80},
            "files": {
                "e.py": {
                    "language": "python",
                    "source": "",
                    "mutants": [
                        {"id": "a", "status": "Killed"},
                        {"id": "b", "status": "Survived"},
                        {"id": "c", "status": "Ignored"},
                        {"id": "d", "status": "Timeout"},
                    ],
                }
            },
        }
        path = tmp_path / "s.json"
        path.write_text(json.dumps(survivor))
        score, counts = score_of(read_report(path))
        assert score == pytest.approx(200 / 3)
        assert counts["Ignored"] == 1
        assert main(["merge", str(path)]) == 1
        assert main(["merge", str(path), "--min-score", "60"]) == 0


@pytest.mark.campaign
def test_fast_mode_kills_what_per_input_mode_kills() -> None:
    """With fast (directional) gradcheck the battery kills exactly the same mutants."""
    engine = load_engine()
    slow = run_campaign(engine, CampaignConfig())
    fast = run_campaign(engine, CampaignConfig(settings=Settings(fast=True)))

    def killed(c):  # type: ignore[no-untyped-def]
        return {r.mutant.id for r in c.results if r.outcome.counts_as_killed}

    assert killed(fast) == killed(slow)
    assert fast.survived == 0


PRIVATE_ENGINE_PATCH = (
    "            self.grad += (out.data > 0) * out.grad",
    "            self.grad += (out.data > self.__zero) * out.grad",
)


@pytest.mark.campaign
def test_methods_needing_the_class_body_are_not_patched(tmp_path: Path) -> None:
    """A method using a private (mangled) name is judged by loading the whole mutant."""
    source = MICROSTYLE.read_text()
    assert PRIVATE_ENGINE_PATCH[0] in source
    source = source.replace(*PRIVATE_ENGINE_PATCH).replace(
        "class Value:\n", "class Value:\n    __zero = 0\n"
    )
    path = tmp_path / "private.py"
    path.write_text(source)
    result = run_campaign(load_engine(str(path)), CampaignConfig(operators=("swap", "sign")))
    outcomes = {r.mutant.id: r.outcome for r in result.results}
    assert Outcome.CRASHED not in outcomes.values()
    assert outcomes["relu-swap-2"] is Outcome.EQUIVALENT


@pytest.mark.slow
def test_fast_gradcheck_counts_on_a_337_parameter_mlp() -> None:
    """Counted forward passes (not time): 677 per input against 11 in fast mode."""
    from minigrad.bench import fast_gradcheck

    figure = fast_gradcheck()
    assert figure.anchor == "677 (per input)"
    assert figure.ours == "11 (fast, 4 probes)"
    assert figure.met
