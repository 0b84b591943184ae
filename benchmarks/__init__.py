"""polyvox benchmarks: side-by-side performance measurements, printed as ratios.

Every figure is measured against a baseline taken in the same run, on the same machine,
against the same emulator: the raw provider SDK, or the LangChain partner package that
polyvox replaces. These are measurements, not tests: a missed target is printed, never
an error.

Run them with ``python -m benchmarks [--quick] [--only NAME]`` (``nox -s bench``).

Layout:

* ``benchmarks/harness/``: what every family shares: the registry, interleaved timing,
  statistics, the emulator server, tables and the JSON results file;
* the family modules beside it, one family per provider or feature (``openai_*``,
  ``ollama_*``, ``anthropic_*``: invoke, stream, abatch, import; ``language_detection``),
  each registering its benchmarks with :func:`benchmarks.harness.register`, plus what a
  family shares between its modules (``openai_clients.py``, ``ollama_clients.py``,
  ``anthropic_clients.py``);
  ``python -m benchmarks`` imports every module of this package, so a new family is one
  new file.
"""
