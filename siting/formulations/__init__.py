"""Mathematical programs built from domain problems.

:mod:`~siting.formulations.coverage` states MCLP, LSCP and partial covering as
:class:`~siting.program.LinearProgram` s; :mod:`~siting.formulations.lexicographic` adds the second-stage rows
that keep the first objective at its best while a new goal (cost, new sites) is minimised.
"""
