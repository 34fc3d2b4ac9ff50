#!/usr/bin/python3
"""Files a benchmark result into docs/benchmarks.md, in its own section.

    ... | bench/record.py "HTTP inference" --row     # a table row, after the section's first table
    ... | bench/record.py "Dynamic batching"         # a block (heading, tables), at the section's end

The section is the one whose "## " heading starts with the given title; it is created at the end of
the file if missing.
"""
import argparse
import os
import sys

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "benchmarks.md")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("title")
    parser.add_argument("--row", action="store_true", help="stdin is a row of the section's first table")
    args = parser.parse_args()
    text = sys.stdin.read().rstrip("\n") + "\n"
    lines = open(DOC).read().splitlines(keepends=True)
    start = next((i for i, l in enumerate(lines) if l.startswith("## " + args.title)), None)
    if start is None:
        lines += ["\n", f"## {args.title}\n", "\n"]
        start = len(lines) - 2
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    if args.row:
        table = [i for i in range(start, end) if lines[i].startswith("|")]
        if not table:
            raise SystemExit(f"section '{args.title}' has no table")
        last = table[0]
        while last + 1 < end and lines[last + 1].startswith("|"):
            last += 1
        lines.insert(last + 1, text)
    else:
        while end > start and lines[end - 1].strip() == "":
            end -= 1
        lines.insert(end, "\n" + text)
    open(DOC, "w").write("".join(lines))


if __name__ == "__main__":
    main()
