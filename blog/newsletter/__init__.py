"""The weekly digest: schedule, dispatch, compose, deliver exactly once, and watch it go."""
