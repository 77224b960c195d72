"""The run's summary page (encephagen.figures.summary): built from the tables a run wrote, it quotes
their numbers (checked against the tables themselves, never against hard-coded values), and a missing
table or column is shown as "not available in this run" instead of breaking the page."""
from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from encephagen.analysis.run import run_statistics
from encephagen.analysis.synthetic import make_tables
from encephagen.figures.summary import NOT_AVAILABLE, write_summary

ALPHA = 0.05
CFG = {"atlases": ["syn20"], "nulls": {"families": ["degree", "random"], "n_per_family": 200},
       "simulate": {"model": "hopf", "G": [0.1], "seeds_per_network": 3}, "analysis": {"fdr_alpha": ALPHA},
       "hopf": {"G": {"start": 0.01, "stop": 3.0, "num": 12, "spacing": "log"}}}


class Page(HTMLParser):
    """Sections (h2) -> their tables as lists of rows, and every text."""

    def __init__(self):
        super().__init__()
        self.sections: dict[str, list] = {}
        self.cur = None
        self.tag = []
        self.row = None
        self.cell = None
        self.text: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tag.append(tag)
        if tag == "h2":
            self.cur = ""
        elif tag == "table":
            self.sections.setdefault(self.cur_name, []).append([])
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = ""
        elif tag == "a":
            self.links.append(dict(attrs).get("href", ""))

    def handle_endtag(self, tag):
        self.tag.pop()
        if tag == "h2":
            self.cur_name = self.cur
            self.sections.setdefault(self.cur_name, [])
            self.cur = None
        elif tag in ("td", "th"):
            self.row.append(self.cell)
            self.cell = None
        elif tag == "tr":
            self.sections[self.cur_name][-1].append(self.row)

    def handle_data(self, data):
        if self.cur is not None:
            self.cur += data
        if self.cell is not None:
            self.cell += data
        self.text.append(data)


def parse(path: Path) -> Page:
    p = Page()
    p.cur_name = ""
    p.feed(path.read_text())
    return p


def table(page: Page, section_prefix: str, first_header: str) -> pd.DataFrame:
    for name, tabs in page.sections.items():
        if name.startswith(section_prefix):
            for t in tabs:
                if t and t[0] and t[0][0] == first_header:
                    return pd.DataFrame(t[1:], columns=t[0])
    raise AssertionError(f"no table starting with {first_header!r} under {section_prefix!r}: {list(page.sections)}")


@pytest.fixture()
def results(tmp_path):
    """A results tree written by the library's own statistics on a table with a planted effect."""
    net = make_tables(metrics=("m0", "m1", "m2", "m3"), families=("degree", "random"), n_nulls=200, n_seeds=2,
                      real_offset={"m0": 8.0, "m1": 8.0}, atlas="syn20", model="hopf")
    reg = make_tables(metrics=("r0",), families=("degree", "random"), n_nulls=40, n_seeds=3, n_regions=12,
                      atlas="syn20", model="hopf")
    root = tmp_path / "results"
    s = root / "stats/atlas-syn20/model-hopf"
    run_statistics(net, reg, out={"network_stats": s / "network_stats.tsv", "regional_stats": s / "regional_stats.tsv.gz",
                                  "decomposition": s / "decomposition.tsv", "class_summary": s / "class_summary.tsv"},
                   fdr_alpha=ALPHA, min_nulls=10)
    return root


def test_summary_quotes_the_run_tables(results):
    out = results / "summary" / "summary.html"
    write_summary(results, out, CFG, out_tsv=results / "summary" / "headline.tsv", tables_dir=results / "summary/tables")
    page = parse(out)
    assert "section failed" not in " ".join(page.text)
    names = list(page.sections)
    for want in ("The question", "Design", "Headline", "What survived FDR", "Regime flags", "Tables of each stage"):
        assert any(n.startswith(want) for n in names), (want, names)
    # design: smallest attainable p from the configured N, tests per study from the table
    st = pd.read_csv(results / "stats/atlas-syn20/model-hopf/network_stats.tsv", sep="\t")
    design = table(page, "Design", "atlas")
    assert int(design["network-level tests"].iloc[0]) == len(st)
    assert float(design["smallest p"].iloc[0]) == pytest.approx(1 / (st["n_nulls"].min() + 1), rel=1e-2)
    # FDR counts per family equal the table's own counts
    fdr = table(page, "What survived FDR", "atlas")
    fdr = fdr[fdr["level"] == "network"].set_index("family")
    qcol = next(c for c in fdr.columns if c.startswith("q"))
    qname = qcol.split(" <")[0]
    for fam, g in st.groupby("family"):
        assert int(fdr.loc[fam, qcol]) == int((g[qname] < ALPHA).sum())
        assert int(fdr.loc[fam, "tests"]) == len(g)
    assert (st[qname] < ALPHA).sum() >= 2  # the planted effects are there to be counted
    # sections without tables in this run say so
    text = " ".join(page.text)
    assert "held-out FC fits: " + NOT_AVAILABLE in text
    # the statistics table carries the real network's regime per G (real_regime): the page shows it
    assert "regime of the real network per G" in text
    assert "regime classification" not in text
    # links point at files that exist, relative to the page
    assert page.links and all((out.parent / href).resolve().exists() for href in page.links)
    head = pd.read_csv(results / "summary" / "headline.tsv", sep="\t")
    assert {"design", "fdr"} <= set(head["section"])
    assert (results / "summary/tables/stats__atlas-syn20__model-hopf__network_stats.tsv").exists()


def test_missing_columns_and_tables_never_break_the_page(results, tmp_path):
    s = results / "stats/atlas-syn20/model-hopf"
    st = pd.read_csv(s / "network_stats.tsv", sep="\t")
    st.drop(columns=[c for c in st.columns if c.startswith("q") or c in ("significant", "n_nulls", "z")]).to_csv(
        s / "network_stats.tsv", sep="\t", index=False)
    (s / "decomposition.tsv").write_text("")  # an empty file
    hop = results / "hopf/atlas-syn20"
    hop.mkdir(parents=True)
    pd.DataFrame({"family": ["degree"], "real_test_pearson": [0.7]}).to_csv(hop / "heldout_vs_nulls.tsv", sep="\t",
                                                                           index=False)
    out = results / "summary" / "summary.html"
    write_summary(results, out, {})
    page = parse(out)
    text = " ".join(page.text)
    assert "section failed" not in text
    head = table(page, "Headline", "atlas")
    assert float(head["real held-out r"].iloc[0]) == pytest.approx(0.7)
    assert head["null median r"].iloc[0] == NOT_AVAILABLE
    empty = tmp_path / "empty_results"
    empty.mkdir()
    write_summary(empty, empty / "summary.html", None)
    assert NOT_AVAILABLE in (empty / "summary.html").read_text()


def test_design_names_every_simulated_model(tmp_path):
    """simulate.model may list several models (the default lists two): the design row names them
    all instead of showing n/a."""
    from encephagen.figures.summary import collect_summary

    rows = collect_summary(tmp_path, {"simulate": {"model": ["wilson_cowan", "hopf"]}}).rows
    row = next(r for r in rows if r["item"] == "simulated model")
    assert row["value"] == "wilson_cowan, hopf"
    rows = collect_summary(tmp_path, {"simulate": {"model": "lif"}}).rows
    assert next(r for r in rows if r["item"] == "simulated model")["value"] == "lif"
