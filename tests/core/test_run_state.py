"""No hidden state between runs: a run's thread count and pseudonymisation are its own."""

from __future__ import annotations

import threading

import p4core
from p4core.clinical.privacy import Pseudonymiser, pseudonymise, pseudonyms
from p4core.settings import current, run_settings

RECORD = """identifier: MRN-31-LEAK
birth_year: 1970
sex: female
index_date: 2024-05-01
"""
SMALL = ["data.n_cells=40", "twin.n_twins=2", "screen.n_null=0", "render=[json]"]


def test_two_runs_in_one_process_do_not_share_mapping_or_threads(tmp_path):
    record = tmp_path / "r.yaml"
    record.write_text(RECORD)
    mapping = tmp_path / "map.csv"
    # the demo patient is named demo-<preset>-<seed>; the record names its own identifier
    mapping.write_text("identifier,pseudonym\ndemo-arthritis-0,SITE-0041\nMRN-31-LEAK,SITE-0042\n")
    context = ["context=[record]", f"context.record.path={record}"]
    before = p4core.settings.n_threads

    seen: list[int] = []
    first_cfg = p4core.compose([*SMALL, *context, f"privacy.mapping={mapping}", "engine.n_threads=1"])
    first, _ = p4core.run(first_cfg, tmp_path / "first")
    seen.append(current().n_threads)
    second, _ = p4core.run(p4core.compose([*SMALL, *context]), tmp_path / "second")

    assert first.patient.pseudonym == "SITE-0041"
    assert first.patient.context.extra["record_pseudonym"] == "SITE-0042"
    assert second.patient.pseudonym == Pseudonymiser()("demo-arthritis-0")
    # the second run has no mapping: the keyed hash, as in a fresh process, not the first run's mapping
    assert second.patient.context.extra["record_pseudonym"] == Pseudonymiser()("MRN-31-LEAK")
    assert second.patient.context.extra["record_pseudonym"] != "SITE-0042"
    assert p4core.settings.n_threads == before and seen == [before]  # the run's 1 thread stayed its own


def test_runs_side_by_side_in_threads_keep_their_own_context():
    barrier = threading.Barrier(2)
    out: dict[str, tuple[str, int]] = {}

    def worker(name: str, key: str, threads: int) -> None:
        with pseudonyms(Pseudonymiser(key=key)), run_settings(n_threads=threads):
            barrier.wait()  # both contexts are set before either reads
            out[name] = (pseudonymise("ID-1"), current().n_threads)

    ts = [threading.Thread(target=worker, args=a) for a in (("a", "key-a", 1), ("b", "key-b", 3))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert out["a"] == (Pseudonymiser(key="key-a")("ID-1"), 1)
    assert out["b"] == (Pseudonymiser(key="key-b")("ID-1"), 3)
    assert out["a"][0] != out["b"][0]
    assert pseudonymise("ID-1") == Pseudonymiser()("ID-1")  # nothing left behind outside the blocks


def test_record_treatment_events_are_named_in_the_course(tmp_path):
    """A record's medication ("L04AB04 started") reads by the drug's name in the course's events (and so in
    the plot, the MIDI markers and the report); a code without a drug in the library by its ATC group."""
    from p4core.clinical.codes import atc_index, treatment_label

    record = tmp_path / "r.yaml"
    record.write_text(
        RECORD
        + "medications:\n  - {atc: L04AB04, start: 2024-03-01, end: 2024-04-01}\n"
        + "  - {atc: N02BE01, start: 2024-04-20}\n"
    )
    result, _ = p4core.run(
        p4core.compose([*SMALL, "context=[record]", f"context.record.path={record}"]), tmp_path / "run"
    )
    labels = set(result.trajectories.events["label"])
    assert {"adalimumab (L04AB04) started", "adalimumab (L04AB04) stopped"} <= labels
    assert "nervous system (N02BE01) started" in labels
    assert not any(lab.startswith(("L04AB04", "N02BE01")) for lab in labels)
    # the helpers alone: the first drug listed for a code names it; other labels stay as they are
    index = atc_index({"methotrexate": "L04AX03; L01BA01", "other": "l04ax03"})
    assert index == {"L04AX03": "methotrexate", "L01BA01": "methotrexate"}
    assert treatment_label("l04ax03 stopped", index) == "methotrexate (L04AX03) stopped"
    assert treatment_label("methotrexate (L04AX03)", index) == "methotrexate (L04AX03)"
