"""Many model instances: memory and time of 1,000 ``ChatOpenAI`` that each made one call.

An application that builds a model per request, or a router over many deployments of one
server, holds many instances. Each variant runs in a fresh interpreter: it imports its
package, makes one warm-up call (so imports and the first client are not counted), then
builds N instances with the same settings and has each make one call against the
emulator; the figure is the resident memory (RSS) added and the time taken. polyvox's
instances share one SDK client per connection settings (``polyvox.core.clients``), as
langchain-openai's do.
"""

from __future__ import annotations

import json
import subprocess
import sys

from benchmarks.harness import Column, Context, Row, Section, Target, register
from benchmarks.openai_clients import KEY, MODEL

_SCRIPT = """
import json, resource, sys, time
from {module} import ChatOpenAI

def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20

url, count = sys.argv[1], int(sys.argv[2])
make = lambda: ChatOpenAI(model={model!r}, api_key={key!r}, base_url=url, max_retries=0)
make().invoke("warm up")
before, start = rss_mib(), time.perf_counter()
models = []
for i in range(count):
    model = make()
    model.invoke(f"q{{i}}")
    models.append(model)
print(json.dumps({{"mib": rss_mib() - before, "s": time.perf_counter() - start}}))
"""

VARIANTS = {"polyvox": "polyvox.openai", "langchain-openai": "langchain_openai"}


def _measure(module: str, url: str, count: int) -> dict[str, float]:
    code = _SCRIPT.format(module=module, model=MODEL, key=KEY)
    out = subprocess.run(
        [sys.executable, "-c", code, url, str(count)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@register(
    "openai.instances",
    "memory and time of 1,000 ChatOpenAI instances that each made a call",
    network=True,
    order=45,
)
def many_instances(ctx: Context) -> Section:
    count = ctx.scale(1000, 200)
    url = ctx.openai_base_url()
    target = Target("mib", "<=", 50 * count / 1000, f"≤ {50 * count / 1000:.0f} MiB")
    rows = []
    for label, module in VARIANTS.items():
        try:
            values = _measure(module, url, count)
        except (subprocess.CalledProcessError, ValueError) as exc:
            rows.append(Row(label, {}, error=str(exc)))
            continue
        rows.append(
            Row(
                label,
                {"mib": values["mib"], "ms": values["s"] * 1000 / count},
                target if label == "polyvox" else None,
            )
        )
    return Section(
        name="openai.instances",
        title=f"{count:,} instances, one call each (fresh interpreter per variant)",
        columns=[
            Column("mib", "RSS added, MiB", "{:+,.1f}"),
            Column("ms", "ms per instance", "{:,.2f}"),
        ],
        rows=rows,
        setup=[ctx.server_note, "each variant warmed by one call first; instances kept alive"],
        notes=[
            "polyvox instances with the same connection settings share one SDK client and its "
            "connections (polyvox.core.clients); without it each built its own (about 840 KiB "
            "and 23 ms each)",
        ],
    )
