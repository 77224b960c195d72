"""`encephagen config validate` layers configs exactly as Snakemake does (shared code with
rules/common.smk), names the file of an empty / non-mapping config, parses --config as Snakemake's
own parser does (nested values arrive as strings and are coerced to the schema's types), and the CLI
help is plain text with a help string on every argument."""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from encephagen.config import ConfigError, layered_config, parse_config_args

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def cli(*args, cwd=REPO):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "encephagen", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.fixture()
def workdir(tmp_path):
    """A workflow root whose config/config.yaml sets values the schema defaults do not."""
    (tmp_path / "workflow").mkdir()
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(
        "master_seed: 11\natlases: [tvb96]\nsimulate:\n  seeds_per_network: 3\n  duration: 4000.0\n"
        "analysis:\n  min_nulls_per_family: 2\n")
    return tmp_path


def test_layers_are_defaults_then_base_then_each_configfile_then_config(workdir, tmp_path):
    a = tmp_path / "a.yaml"
    a.write_text("simulate:\n  seeds_per_network: 4\nnulls:\n  n_per_family: 7\n")
    b = tmp_path / "b.yaml"
    b.write_text("nulls:\n  n_per_family: 9\n")
    cfg = layered_config(workdir, [a, b], ["simulate={transient: 500.0}"])
    assert cfg["master_seed"] == 11                       # config/config.yaml (not the schema default)
    assert cfg["simulate"]["duration"] == 4000.0          # base kept where no later layer sets it
    assert cfg["simulate"]["seeds_per_network"] == 4      # a.yaml over the base
    assert cfg["nulls"]["n_per_family"] == 9              # b.yaml over a.yaml
    assert cfg["simulate"]["transient"] == 500.0          # --config over everything, deep-merged
    assert "batch_size" in cfg["nulls"]                   # schema defaults under everything


def test_my_yaml_is_layered_on_config_yaml_not_on_schema_defaults(workdir, tmp_path):
    """The reported defect: my.yaml was validated over the schema defaults only."""
    my = tmp_path / "my.yaml"
    my.write_text("nulls:\n  n_per_family: 5\n")
    r = cli("config", "validate", "--workdir", str(workdir), "--configfile", str(my), "--print")
    assert r.returncode == 0, r.stderr
    cfg = yaml.safe_load(r.stdout)
    assert cfg["master_seed"] == 11 and cfg["atlases"] == ["tvb96"] and cfg["nulls"]["n_per_family"] == 5


@pytest.mark.parametrize("text, words", [("", "empty"), ("# only a comment\n", "empty"),
                                         ("- tvb96\n- hcp80\n", "list"), ("42\n", "int")])
def test_empty_or_non_mapping_file_is_refused_naming_the_file(workdir, tmp_path, text, words):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    r = cli("config", "validate", "--workdir", str(workdir), "--configfile", str(bad))
    assert r.returncode == 1
    assert str(bad) in r.stderr and words in r.stderr and "Traceback" not in r.stderr


def test_nested_config_values_are_parsed_like_snakemake_and_coerced(workdir):
    from snakemake.cli import parse_config as snakemake_parse  # the reference: Snakemake's own parser

    entries = ["simulate={seeds_per_network: 5, G: [0.1, 0.2]}", "master_seed=3", "hopf={enabled: false}",
               "atlases=[hcp80]"]
    assert parse_config_args(entries) == snakemake_parse(entries)
    cfg = layered_config(workdir, [], entries)
    assert cfg["simulate"]["seeds_per_network"] == 5 and cfg["simulate"]["G"] == [0.1, 0.2]
    assert cfg["hopf"]["enabled"] is False and cfg["master_seed"] == 3 and cfg["atlases"] == ["hcp80"]


def test_dotted_config_keys_are_refused_as_snakemake_refuses_them():
    from snakemake.cli import parse_config as snakemake_parse

    with pytest.raises(ValueError):
        snakemake_parse(["simulate.seeds_per_network=5"])
    with pytest.raises(ConfigError, match=r"simulate='\{seeds_per_network: 5\}'"):
        parse_config_args(["simulate.seeds_per_network=5"])
    with pytest.raises(ConfigError, match=r"hopf='\{heterogeneity: \{n_null: 7\}\}'"):
        parse_config_args(["hopf.heterogeneity.n_null=7"])


def test_a_bad_value_names_the_key_and_the_layer_that_set_it(workdir, tmp_path):
    my = tmp_path / "my.yaml"
    my.write_text("simulate:\n  seeds_per_network: -2\n")
    with pytest.raises(ConfigError, match=r"simulate\.seeds_per_network.*set in .*my\.yaml"):
        layered_config(workdir, [my])
    with pytest.raises(ConfigError, match=r"simulate\.seeds_per_network.*not of type 'integer'.*set in --config"):
        layered_config(workdir, [], ["simulate={seeds_per_network: five}"])
    # a quoted number in a FILE stays an error (only --config strings are coerced, as in the workflow)
    my.write_text("simulate:\n  seeds_per_network: '5'\n")
    with pytest.raises(ConfigError, match="seeds_per_network"):
        layered_config(workdir, [my])


@pytest.mark.workflow
def test_snakemake_accepts_the_same_nested_config_and_refuses_the_same_files(tmp_path):
    """Real snakemake (dry run): a nested --config value reaches the rules as an integer, and an
    empty --configfile is refused by Snakemake as by `config validate`."""
    for d in ("workflow", "config", "profiles"):
        shutil.copytree(REPO / d, tmp_path / d)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEMAKE")}
    env["PYTHONPATH"] = str(REPO)
    ci = str(REPO / "tests/config/ci.yaml")
    r = subprocess.run([SNAKEMAKE, "-n", "--cores", "1", "--configfile", ci, "--config",
                        "simulate={seeds_per_network: 5}", "nulls={n_per_family: 6}"],
                       cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    ours = layered_config(tmp_path, [ci], ["simulate={seeds_per_network: 5}", "nulls={n_per_family: 6}"])
    assert ours["simulate"]["seeds_per_network"] == 5 and ours["nulls"]["n_per_family"] == 6
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    r = subprocess.run([SNAKEMAKE, "-n", "--cores", "1", "--configfile", str(empty)], cwd=tmp_path,
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode != 0
    with pytest.raises(ConfigError, match="empty"):
        layered_config(tmp_path, [empty])


def _walk(parser, path=""):
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            for name, sp in a.choices.items():
                yield from _walk(sp, f"{path} {name}".strip())
        elif not isinstance(a, (argparse._HelpAction, argparse._VersionAction)):
            yield path, a
    yield path, parser


def test_cli_help_is_plain_text_and_every_argument_has_help():
    from encephagen.cli import build_parser

    missing, marked = [], []
    for path, obj in _walk(build_parser()):
        if isinstance(obj, argparse.ArgumentParser):
            texts = [obj.description or "", obj.format_help()]
        else:
            if not obj.help:
                missing.append(f"{path}: {obj.option_strings or obj.dest}")
            texts = [obj.help or ""]
        marked += [path for t in texts if "``" in t or ":func:" in t or ":mod:" in t]
    assert not missing, missing
    assert not marked, sorted(set(marked))


def test_summary_command_writes_the_page_from_a_results_folder(tmp_path, workdir):
    from encephagen.analysis.run import run_statistics
    from encephagen.analysis.synthetic import make_tables

    res = tmp_path / "results"
    s = res / "stats/atlas-syn20/model-hopf"
    run_statistics(make_tables(n_nulls=30, n_seeds=2), out={"network_stats": s / "network_stats.tsv"}, min_nulls=10)
    r = cli("summary", "--workdir", str(workdir), "--results", str(res), "-o", str(tmp_path / "page.html"))
    assert r.returncode == 0, r.stderr
    page = (tmp_path / "page.html").read_text()
    assert "What survived FDR" in page and "<td>syn20</td>" in page
    assert "<td>tvb96</td>" in page  # the design section is the layered config's (workdir's config/config.yaml)
    assert (tmp_path / "headline.tsv").exists()
