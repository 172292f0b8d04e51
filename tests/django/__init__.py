"""Tests of ``huey.contrib.djhuey``: settings, decorators, ``run_huey`` and the Tasks backend."""
