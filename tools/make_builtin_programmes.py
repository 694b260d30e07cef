"""Write the built-in signature programmes (python/p4core/data/programmes.gmt) from MSigDB Hallmark.

    python tools/make_builtin_programmes.py [../shared/data]

The cohort view scores, per patient and cell type, the programmes that tell patients apart (interferon,
inflammation, proliferation, ...): ten MSigDB Hallmark gene sets (Liberzon et al., Cell Syst 2015;
CC BY 4.0), copied unchanged with their source address.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETS = (
    "HALLMARK_INTERFERON_ALPHA_RESPONSE",
    "HALLMARK_INTERFERON_GAMMA_RESPONSE",
    "HALLMARK_INFLAMMATORY_RESPONSE",
    "HALLMARK_TNFA_SIGNALING_VIA_NFKB",
    "HALLMARK_IL6_JAK_STAT3_SIGNALING",
    "HALLMARK_IL2_STAT5_SIGNALING",
    "HALLMARK_E2F_TARGETS",
    "HALLMARK_G2M_CHECKPOINT",
    "HALLMARK_HYPOXIA",
    "HALLMARK_COMPLEMENT",
)


def main(shared: Path) -> None:
    lines = (shared / "knowledge" / "msigdb_hallmark.gmt").read_text(encoding="utf-8").splitlines()
    keep = {ln.split("\t", 1)[0]: ln for ln in lines if ln.split("\t", 1)[0] in SETS}
    missing = sorted(set(SETS) - set(keep))
    if missing:
        raise SystemExit(f"not in the GMT file: {missing}")
    out = ROOT / "python" / "p4core" / "data" / "programmes.gmt"
    out.write_text("\n".join(keep[s] for s in SETS) + "\n", encoding="utf-8")
    print(f"{out.relative_to(ROOT)}: {len(SETS)} gene sets")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data")
