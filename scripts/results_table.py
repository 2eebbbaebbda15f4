"""One Markdown row per report and board of ``results/*.json`` (the README's table).

Run: ``.venv/bin/python scripts/results_table.py [results]``. Reports written before designs
were folded per board (no ``boards.<name>.design``) are listed as stale.
"""

import json
import pathlib
import sys

COLUMNS = ("report", "board", "lanes", "cycles/image", "÷ event bound", "÷ BRAM bound",
           "stream gain", "mismatches", "LC / LUT", "DSP", "BRAM", "SPRAM", "Fmax MHz",
           "clock MHz", "latency µs")


def _cell(value, digits=2):
    if value is None:
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _bram_ratio(report, design):
    """Cycles ÷ the block-RAM read-port bound of a board's design (older reports kept it
    only for the first board's design, at the top level)."""
    if "cycles_over_bram_bound" in design:
        return design["cycles_over_bram_bound"]
    return report.get("cycles_over_bram_bound") if report.get("lanes") == design["lanes"] else None


def rows(results):
    """``(table rows, stale report names)`` of the reports in directory ``results``."""
    out, stale = [], []
    for path in sorted(pathlib.Path(results).glob("*.json")):
        r = json.loads(path.read_text())
        for board, b in sorted(r.get("boards", {}).items()):
            d = b.get("design")
            if d is None:
                stale.append(path.stem)
                break
            logic = b.get("logic_cells") if b.get("family") == "ice40" else b.get("lut")
            out.append((path.stem, board, ",".join(map(str, d["lanes"])), _cell(d["cycles_per_image"], 0),
                        _cell(d["cycles_over_event_bound"]), _cell(_bram_ratio(r, d)),
                        _cell(d["streaming_throughput_gain"]),
                        f"{d['rtl_mismatches']}/{d['rtl_images']}", _cell(logic), _cell(b.get("dsp")),
                        _cell(b.get("bram")), _cell(b.get("spram")),
                        _cell(b.get("fmax_mhz"), 1) if b.get("fits") else "does not place",
                        _cell(b.get("clock_mhz"), 1) if b.get("fits") else "–",
                        _cell(b.get("latency_us_at_clock"), 1) if b.get("fits") else "–"))
    return out, stale


def main():
    table, stale = rows(sys.argv[1] if len(sys.argv) > 1 else "results")
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for row in table:
        print("| " + " | ".join(row) + " |")
    if stale:
        print(f"\nStale (written before per-board folding; rerun `make bench`): {', '.join(stale)}")


if __name__ == "__main__":
    main()
