"""``polyvox costs report|plot|export`` over a real ledger (a SQLite file, and PostgreSQL)."""

from __future__ import annotations

import struct
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from polyvox.cli.main import main
from polyvox.costs.ledger import CallRecord, Ledger, read_csv
from tests.cli.test_cli import polyvox_command
from tests.costs.test_ledger_support import PG_URL, drop_schema, require_postgres

DAY0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
DAYS = ("2025-03-01", "2025-03-02", "2025-03-03", "2025-03-04")
MINI = ("openai", "gpt-4o-mini")
HAIKU = ("anthropic", "claude-haiku-4-5")
GIGA = ("gigachat", "GigaChat-2")
ZEPHYR = ("huggingface", "HuggingFaceH4/zephyr-7b-beta")  # no known price
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def sample_records() -> list[CallRecord]:
    """Two workspaces, three priced models (USD and RUB), four days, failures and unpriced."""
    records = []

    def add(model: tuple[str, str], day: int, hour: int = 0, **fields: object) -> None:
        provider, name = model
        time = DAY0 + timedelta(days=day, hours=hour)
        records.append(CallRecord(time=time, provider=provider, model=name, **fields))  # type: ignore[arg-type]

    for day in range(4):
        for ws, agent in (("w1", "a1"), ("w2", "a2")):
            tokens_in, tokens_out = 1000 + 100 * day, 200 + 10 * day
            add(
                MINI,
                day,
                workspace_id=ws,
                agent_id=agent,
                input_tokens=tokens_in,
                output_tokens=tokens_out,
                cache_read_tokens=100 if ws == "w1" else 0,
                cost=tokens_in * Decimal("0.00000015") + tokens_out * Decimal("0.0000006"),
                currency="USD",
                latency_ms=50.0 + day,
            )
        add(
            HAIKU,
            day,
            hour=1,
            workspace_id="w1",
            agent_id="a1",
            input_tokens=2000,
            output_tokens=500,
            cost=Decimal("0.0045") + Decimal("0.0001") * day,
            currency="USD",
            latency_ms=100.0 * (day + 1),
        )
        add(
            GIGA,
            day,
            hour=2,
            workspace_id="w2",
            agent_id="a2",
            input_tokens=300,
            output_tokens=100,
            cost=Decimal("0.026") + Decimal("0.013") * day,
            currency="RUB",
            latency_ms=700.0,
        )
    add(
        MINI,
        1,
        hour=3,
        workspace_id="w2",
        agent_id="a2",
        cost=Decimal(0),
        currency="USD",
        latency_ms=20.0,
        outcome="error",
        error_type="RateLimitError",
    )
    add(ZEPHYR, 2, hour=4, workspace_id="w1", input_tokens=50, output_tokens=20, latency_ms=900.0)
    add(ZEPHYR, 3, hour=4, workspace_id="w1", input_tokens=60, output_tokens=30, latency_ms=950.0)
    return records


RECORDS = sample_records()


def matching(
    provider: str | None = None,
    model: str | None = None,
    workspace: str | None = None,
    days: Sequence[str] = DAYS,
) -> list[CallRecord]:
    """The sample records of a group."""
    return [
        r
        for r in RECORDS
        if provider in (None, r.provider)
        and model in (None, r.model)
        and workspace in (None, r.workspace_id)
        and r.time.date().isoformat() in days
    ]


def cost_sum(records: Sequence[CallRecord], currency: str) -> Decimal:
    """The exact cost of the records priced in ``currency``."""
    return sum(
        (r.cost for r in records if r.currency == currency and r.cost is not None), Decimal(0)
    )


def fill(url: str, schema: str | None = None, records: Sequence[CallRecord] = RECORDS) -> None:
    ledger = Ledger(url, schema=schema, strict=True)
    for record in records:
        ledger.record(record)
    assert ledger.flush(timeout=30)
    ledger.close()


@pytest.fixture(scope="module")
def ledger_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('costs') / 'ledger.sqlite3'}"
    fill(url)
    return url


@pytest.fixture(autouse=True)
def _no_env_rates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLYVOX_FX_RATES", raising=False)
    monkeypatch.delenv("POLYVOX_LEDGER_URL", raising=False)


@dataclass
class Result:
    code: int
    out: str
    err: str


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Result:
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


@dataclass
class Table:
    """A printed report, read back by the columns of its ruler line."""

    heading: str
    header: list[str]
    rows: list[list[str]]
    total: list[str]
    notes: list[str]

    def row(self, *labels: str) -> dict[str, str]:
        for cells in self.rows:
            if tuple(cells[: len(labels)]) == labels:
                return dict(zip(self.header, cells, strict=True))
        raise AssertionError(f"no row {labels} in {self.rows}")

    def totals(self) -> dict[str, str]:
        return dict(zip(self.header, self.total, strict=True))

    def labels(self, width: int) -> list[tuple[str, ...]]:
        return [tuple(cells[:width]) for cells in self.rows]


def read_table(out: str) -> Table:
    lines = out.splitlines()
    ruler_at = next(i for i, line in enumerate(lines) if line.startswith("---"))
    ruler = lines[ruler_at]
    spans, start = [], None
    for i, char in enumerate(ruler + " "):
        if char == "-" and start is None:
            start = i
        elif char != "-" and start is not None:
            spans.append((start, i))
            start = None

    def cells(line: str) -> list[str]:
        return [line[a:b].strip() for a, b in spans]

    second = next(i for i in range(ruler_at + 1, len(lines)) if lines[i] == ruler)
    return Table(
        heading="\n".join(lines[: ruler_at - 1]),
        header=cells(lines[ruler_at - 1]),
        rows=[cells(line) for line in lines[ruler_at + 1 : second]],
        total=cells(lines[second + 1]),
        notes=[line for line in lines[second + 2 :] if line],
    )


def num(cell: str) -> int:
    return int(cell.replace(",", ""))


def money(cell: str) -> dict[str, Decimal]:
    """``"0.1 USD + 2 RUB"`` → ``{"USD": 0.1, "RUB": 2}``."""
    found = {}
    for part in cell.split(" + "):
        amount, code = part.split()
        found[code] = Decimal(amount)
    return found


# ---- report ---------------------------------------------------------------------------------


def test_report_groups_by_provider_and_model_with_exact_totals(
    ledger_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(capsys, "costs", "report", "--ledger", ledger_url)
    assert result.code == 0, result.err
    table = read_table(result.out)
    assert table.heading == f"Costs in {ledger_url}"
    assert table.header == [
        "provider",
        "model",
        "calls",
        "failures",
        "tokens in",
        "tokens out",
        "cache reads",
        "mean ms",
        "p95 ms",
        "cost",
        "unpriced",
    ]
    assert table.labels(2) == [HAIKU, GIGA, ZEPHYR, MINI]  # sorted by provider, model
    for provider, model in (MINI, HAIKU, GIGA, ZEPHYR):
        group = matching(provider, model)
        row = table.row(provider, model)
        assert num(row["calls"]) == len(group)
        assert num(row["failures"]) == sum(r.outcome == "error" for r in group)
        assert num(row["tokens in"]) == sum(r.input_tokens for r in group)
        assert num(row["tokens out"]) == sum(r.output_tokens for r in group)
        assert num(row["cache reads"]) == sum(r.cache_read_tokens for r in group)
    mini = table.row(*MINI)
    assert (num(mini["calls"]), num(mini["failures"]), num(mini["cache reads"])) == (9, 1, 400)
    assert money(mini["cost"]) == {"USD": cost_sum(matching(*MINI), "USD")}
    haiku = table.row(*HAIKU)
    assert (haiku["mean ms"], haiku["p95 ms"]) == ("250", "385")  # 100..400 ms
    assert money(haiku["cost"]) == {"USD": Decimal("0.0186")}
    assert money(table.row(*GIGA)["cost"]) == {"RUB": Decimal("0.182")}
    zephyr = table.row(*ZEPHYR)
    assert (zephyr["cost"], zephyr["unpriced"]) == ("-", "2")  # unknown, not 0

    total = table.totals()
    assert total["provider"] == "total"
    assert num(total["calls"]) == len(RECORDS) == 19
    assert num(total["failures"]) == 1
    assert num(total["tokens in"]) == sum(r.input_tokens for r in RECORDS)
    assert num(total["tokens out"]) == sum(r.output_tokens for r in RECORDS)
    assert num(total["unpriced"]) == 2
    usd = cost_sum(RECORDS, "USD")
    assert usd == cost_sum(matching(*MINI), "USD") + Decimal("0.0186")
    assert money(total["cost"]) == {"RUB": Decimal("0.182"), "USD": usd}
    assert any("2 of 19 calls have no known price" in note for note in table.notes)
    assert any("several currencies" in note for note in table.notes)


def test_report_converts_into_one_currency(
    ledger_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(
        capsys,
        "costs",
        "report",
        "--ledger",
        ledger_url,
        "--currency",
        "usd",
        "--rates",
        "RUB=0.011",
    )
    assert result.code == 0, result.err
    table = read_table(result.out)
    assert "cost (USD)" in table.header
    row = table.row(*GIGA)
    assert Decimal(row["cost (USD)"]) == Decimal("0.182") * Decimal("0.011") == Decimal("0.002002")
    assert Decimal(table.row(*HAIKU)["cost (USD)"]) == Decimal("0.0186")
    assert table.row(*ZEPHYR)["cost (USD)"] == "-"
    expected = cost_sum(RECORDS, "USD") + Decimal("0.002002")
    assert Decimal(table.totals()["cost (USD)"]) == expected
    assert "Costs in RUB converted into USD at RUB=0.011." in table.notes


def test_report_in_rubles_and_rates_from_the_environment(
    ledger_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rub = run(
        capsys, "costs", "report", "--ledger", ledger_url, "--currency", "RUB", "--rates", "USD=90"
    )
    assert rub.code == 0, rub.err
    table = read_table(rub.out)
    assert Decimal(table.row(*GIGA)["cost (RUB)"]) == Decimal("0.182")
    assert Decimal(table.row(*HAIKU)["cost (RUB)"]) == Decimal("0.0186") * 90
    # POLYVOX_FX_RATES is in USD per unit; a report in USD uses it when --rates is not given
    monkeypatch.setenv("POLYVOX_FX_RATES", "RUB=0.011,EUR=1.10")
    usd = run(capsys, "costs", "report", "--ledger", ledger_url, "--currency", "USD")
    assert usd.code == 0, usd.err
    assert Decimal(read_table(usd.out).row(*GIGA)["cost (USD)"]) == Decimal("0.002002")


@pytest.mark.parametrize(
    "by", [["workspace_id,day"], ["workspace_id", "day"], ["workspace_id,day,workspace_id"]]
)
def test_report_by_workspace_and_day(
    ledger_url: str, capsys: pytest.CaptureFixture[str], by: list[str]
) -> None:
    argv = ["costs", "report", "--ledger", ledger_url, "--currency", "USD", "--rates", "RUB=0.011"]
    for value in by:
        argv += ["--by", value]
    result = run(capsys, *argv)
    assert result.code == 0, result.err
    table = read_table(result.out)
    assert table.header[:3] == ["workspace", "day", "calls"]
    assert table.labels(2) == [(ws, day) for ws in ("w1", "w2") for day in DAYS]
    for ws in ("w1", "w2"):
        for day in DAYS:
            group = matching(workspace=ws, days=[day])
            row = table.row(ws, day)
            assert num(row["calls"]) == len(group)
            converted = cost_sum(group, "USD") + cost_sum(group, "RUB") * Decimal("0.011")
            assert Decimal(row["cost (USD)"]) == converted
    assert table.totals()["workspace"] == "total"
    assert table.totals()["day"] == ""


def test_report_by_month_agent_and_single_dimension(
    ledger_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    month = read_table(run(capsys, "costs", "report", "--ledger", ledger_url, "--by", "month").out)
    assert month.labels(1) == [("2025-03",)]
    assert num(month.row("2025-03")["calls"]) == 19
    agents = read_table(
        run(capsys, "costs", "report", "--ledger", ledger_url, "--by", "agent_id").out
    )
    assert agents.header[0] == "agent"
    assert agents.labels(1) == [("(none)",), ("a1",), ("a2",)]  # the unpriced calls: none
    assert num(agents.row("(none)")["calls"]) == 2


def test_report_where_and_time_filters(ledger_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    w1 = run(capsys, "costs", "report", "--ledger", ledger_url, "--where", "workspace_id=w1")
    assert w1.code == 0, w1.err
    table = read_table(w1.out)
    assert table.heading == f"Costs in {ledger_url} (where workspace_id=w1)"
    assert table.labels(2) == [HAIKU, ZEPHYR, MINI]
    assert num(table.totals()["calls"]) == len(matching(workspace="w1")) == 10
    assert table.header[-2] == "cost (USD)"  # one currency: named in the header
    assert Decimal(table.totals()["cost (USD)"]) == cost_sum(matching(workspace="w1"), "USD")

    both = read_table(
        run(
            capsys, "costs", "report", "--ledger", ledger_url,
            "--where", "provider=openai,gigachat", "--where", "workspace_id=w2",
            "--since", "2025-03-02", "--until", "2025-03-03",
        ).out
    )  # fmt: skip
    days = ["2025-03-02", "2025-03-03"]  # --until names the last day included
    expected = [r for r in matching(workspace="w2", days=days) if r.provider != "anthropic"]
    assert both.labels(2) == [GIGA, MINI]
    assert num(both.totals()["calls"]) == len(expected) == 5
    assert money(both.row(*GIGA)["cost"]) == {"RUB": cost_sum(expected, "RUB")}
    assert "since 2025-03-02, until 2025-03-03" in both.heading

    # ISO times: since included, until excluded; only the failed call (12:30) is in
    since_iso = run(
        capsys, "costs", "report", "--ledger", ledger_url, "--by", "model",
        "--since", "2025-03-02T12:00", "--until", "2025-03-02T12:30:01+00:00",
    )  # fmt: skip
    rows = read_table(since_iso.out)
    assert rows.labels(1) == [("gpt-4o-mini",)]
    assert num(rows.totals()["failures"]) == 1

    unset = read_table(
        run(capsys, "costs", "report", "--ledger", ledger_url, "--where", "agent_id=").out
    )
    assert num(unset.totals()["calls"]) == 2  # an empty value matches calls without one


def test_report_that_matches_nothing(ledger_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    result = run(
        capsys, "costs", "report", "--ledger", ledger_url, "--where", "workspace_id=nobody"
    )
    assert result.code == 0
    assert (
        result.out.strip()
        == f"no calls in the ledger {ledger_url} match (where workspace_id=nobody)"
    )


def test_report_reads_polyvox_ledger_url(
    ledger_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLYVOX_LEDGER_URL", ledger_url)
    result = run(capsys, "costs", "report", "--by", "workspace_id")
    assert result.code == 0, result.err
    assert read_table(result.out).labels(1) == [("w1",), ("w2",)]


# ---- plot -----------------------------------------------------------------------------------


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_plot_writes_a_png_of_daily_costs(
    ledger_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    output = tmp_path / "costs.png"
    result = run(
        capsys, "costs", "plot", "--ledger", ledger_url, "--output", str(output),
        "--currency", "USD", "--rates", "RUB=0.011",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.out.strip() == str(output)
    data = output.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert b"Matplotlib" in data  # the PNG's Software text chunk
    width, height = png_size(output)
    assert width >= 1000
    assert height >= 500
    assert len(data) > 20_000  # bars, labels and a legend, not a blank canvas


def test_plot_in_the_recorded_currency_and_with_filters(
    ledger_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    one = run(
        capsys, "costs", "plot", "--ledger", ledger_url, "-o", str(tmp_path / "usd"),
        "--where", "currency=USD", "--since", "2025-03-02",
    )  # fmt: skip
    assert one.code == 0, one.err
    assert one.out.strip() == str(tmp_path / "usd.png")  # no suffix: PNG
    assert png_size(tmp_path / "usd.png")[0] >= 1000

    mixed = run(capsys, "costs", "plot", "--ledger", ledger_url, "-o", str(tmp_path / "x.png"))
    assert mixed.code == 1
    assert "several currencies (RUB, USD)" in mixed.err
    assert "--currency USD" in mixed.err
    assert not (tmp_path / "x.png").exists()

    unpriced = run(
        capsys, "costs", "plot", "--ledger", ledger_url, "-o", str(tmp_path / "u.png"),
        "--where", "provider=huggingface",
    )  # fmt: skip
    assert unpriced.code == 1
    assert "nothing to plot: none of the 2 calls has a known price" in unpriced.err


def test_plot_groups_models_beyond_top_as_other(
    ledger_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    result = run(
        capsys, "costs", "plot", "--ledger", ledger_url, "-o", str(tmp_path / "top.png"),
        "--currency", "USD", "--rates", "RUB=0.011", "--top", "1",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert png_size(tmp_path / "top.png")[1] >= 500


# ---- export ---------------------------------------------------------------------------------


def test_export_round_trip(
    ledger_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    output = tmp_path / "calls.csv"
    result = run(capsys, "costs", "export", "--ledger", ledger_url, "--output", str(output))
    assert result.code == 0, result.err
    assert result.out.strip() == f"exported 19 records to {output}"
    back = read_csv(output)
    assert sorted(back, key=lambda r: r.id) == sorted(RECORDS, key=lambda r: r.id)
    assert sum((r.cost or Decimal(0) for r in back if r.currency == "RUB"), Decimal(0)) == Decimal(
        "0.182"
    )


def test_export_filtered_to_stdout(ledger_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    result = run(
        capsys, "costs", "export", "--ledger", ledger_url, "-o", "-",
        "--where", "workspace_id=w2", "--until", "2025-03-01",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.err.strip() == "exported 2 records to standard output"
    lines = result.out.strip().splitlines()
    assert lines[0].startswith("id,time,run_id,")
    assert len(lines) == 3


# ---- errors and empty ledgers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--where", "workspace_id"], "--where: expected column=value"),
        (["--where", "=w1"], "--where: expected column=value"),
        (["--where", "colour=red"], "--where: cannot filter on 'colour'; use one of provider,"),
        (["--where", "agent_id=", "--where", "agent_id=a1"], "cannot be both empty and set"),
        (["--currency", "USD", "--rates", "RUB"], "--rates: expected CODE=RATE items"),
        (["--currency", "USD", "--rates", "RUB=abc"], "the rate for RUB must be a positive"),
        (["--currency", "USD", "--rates", "RUB=-1"], "the rate for RUB must be a positive"),
        (["--currency", "USD", "--rates", "ROUBLE=1"], "--rates: expected CODE=RATE"),
        (["--rates", "RUB=0.011"], "--rates needs --currency"),
        (["--currency", "dollars"], "--currency: expected a code like USD"),
        (["--currency", "USD"], "--rates RUB=<USD per RUB>"),
        (["--by", "colour"], "--by: cannot group by colour; use any of provider, model"),
        (["--by", ","], "--by: name at least one of"),
        (["--since", "yesterday"], "--since: expected YYYY-MM-DD, YYYY-MM or an ISO 8601"),
        (["--until", "2025-13-01"], "--until: expected YYYY-MM-DD"),
        (["--since", "2025-03-04", "--until", "2025-03-01"], "is not before --until"),
    ],
)
def test_malformed_options_exit_1_with_a_message(
    ledger_url: str, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    result = run(capsys, "costs", "report", "--ledger", ledger_url, *argv)
    assert result.code == 1
    assert result.out == ""
    assert result.err.startswith("error: ")
    assert message in result.err


def test_unreachable_and_malformed_ledger_urls(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    refused = "postgresql+psycopg://postgres:secret-pw@127.0.0.1:1/test"
    for action in (["report"], ["plot", "-o", str(tmp_path / "p.png")], ["export", "-o", "-"]):
        result = run(capsys, "costs", *action, "--ledger", refused)
        assert result.code == 1, action
        assert "is unavailable" in result.err
        assert "127.0.0.1:1" in result.err
        assert "secret-pw" not in result.err + result.out  # the password never shows
    bad = run(capsys, "costs", "report", "--ledger", "mysql://nobody@localhost/db")
    assert bad.code == 1
    assert "unsupported ledger database" in bad.err
    worse = run(capsys, "costs", "report", "--ledger", "not a url")
    assert worse.code == 1
    assert "malformed ledger URL" in worse.err


def test_empty_ledgers(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "ledger.sqlite3"
    url = f"sqlite:///{missing}"
    report = run(capsys, "costs", "report", "--ledger", url)
    assert report.code == 0
    assert report.out.strip() == f"no calls recorded: the ledger {url} does not exist yet"
    assert not missing.parent.exists()  # reading does not create a ledger
    plot = run(capsys, "costs", "plot", "--ledger", url, "-o", str(tmp_path / "p.png"))
    assert plot.code == 1
    assert "nothing to plot" in plot.err
    export = run(capsys, "costs", "export", "--ledger", url, "-o", str(tmp_path / "e.csv"))
    assert export.code == 0
    assert read_csv(tmp_path / "e.csv") == []

    empty = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    fill(empty, records=[])
    report = run(capsys, "costs", "report", "--ledger", empty)
    assert report.code == 0
    assert report.out.strip() == f"no calls recorded in the ledger {empty} yet"
    plot = run(capsys, "costs", "plot", "--ledger", empty, "-o", str(tmp_path / "p.png"))
    assert plot.code == 1
    assert (
        plot.err.strip() == f"error: nothing to plot: no calls recorded in the ledger {empty} yet"
    )
    assert not (tmp_path / "p.png").exists()


def test_records_waiting_in_the_spill_file_are_mentioned(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "ledger.sqlite3"
    fill(f"sqlite:///{db}", records=RECORDS[:3])
    spill = tmp_path / "ledger.sqlite3-spill.jsonl"
    spill.write_text('{"id": "x"}\n{"id": "y"}\n', encoding="utf-8")
    result = run(capsys, "costs", "report", "--ledger", f"sqlite:///{db}")
    assert result.code == 0
    assert f"note: 2 records wait in the spill file {spill}" in result.err
    assert "replay_spill()" in result.err


def test_the_console_script(ledger_url: str) -> None:
    done = subprocess.run(
        [polyvox_command(), "costs", "report", "--ledger", ledger_url, "--by", "workspace_id"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert read_table(done.stdout).labels(1) == [("w1",), ("w2",)]
    helped = subprocess.run(
        [sys.executable, "-m", "polyvox.cli.main", "costs", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert helped.returncode == 0
    assert all(action in helped.stdout for action in ("report", "plot", "export"))


# ---- PostgreSQL -----------------------------------------------------------------------------


@pytest.fixture
def pg_schema() -> Iterator[str]:
    require_postgres()
    schema = f"pv_cli_{uuid.uuid4().hex[:12]}"
    try:
        yield schema
    finally:
        drop_schema(schema)


@pytest.mark.postgres
def test_report_plot_and_export_on_postgresql(
    pg_schema: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fill(PG_URL, schema=pg_schema)
    where = ["--ledger", PG_URL, "--schema", pg_schema]
    result = run(capsys, "costs", "report", *where, "--currency", "USD", "--rates", "RUB=0.011")
    assert result.code == 0, result.err
    table = read_table(result.out)
    assert table.labels(2) == [HAIKU, GIGA, ZEPHYR, MINI]
    assert Decimal(table.row(*GIGA)["cost (USD)"]) == Decimal("0.002002")
    expected = cost_sum(RECORDS, "USD") + Decimal("0.002002")
    assert Decimal(table.totals()["cost (USD)"]) == expected
    assert (table.row(*HAIKU)["mean ms"], table.row(*HAIKU)["p95 ms"]) == ("250", "385")

    days = read_table(run(capsys, "costs", "report", *where, "--by", "day").out)
    assert days.labels(1) == [(day,) for day in DAYS]

    plot = run(
        capsys,
        "costs",
        "plot",
        *where,
        "-o",
        str(tmp_path / "pg.png"),
        "--currency",
        "RUB",
        "--rates",
        "USD=90",
    )
    assert plot.code == 0, plot.err
    assert png_size(tmp_path / "pg.png")[0] >= 1000

    export = run(capsys, "costs", "export", *where, "-o", str(tmp_path / "pg.csv"))
    assert export.code == 0, export.err
    assert sorted(read_csv(tmp_path / "pg.csv"), key=lambda r: r.id) == sorted(
        RECORDS, key=lambda r: r.id
    )


def test_the_command_offers_the_ledger_dimensions() -> None:
    from polyvox.cli import costs
    from polyvox.costs.ledger import reports

    assert costs.DIMENSIONS == reports.DIMENSIONS  # --by is checked before importing SQLAlchemy
