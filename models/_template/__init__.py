"""The paper-package template (skipped by discovery: its folder name starts with ``_``).

Copy this folder to ``models/<package>/`` and rename the names ``template.*`` to
``<package>.*``; docs/adding-a-paper.md walks through every file. The template is a working
package: a dispatcher of jobs to servers with three policy slots (admission, dispatch,
queue order), driven by any registered workload, with a claim, a figure and notes. Its test
(tests/_template/) runs it from YAML with per-slot overrides and a sweep, so the template
never goes stale.
"""
