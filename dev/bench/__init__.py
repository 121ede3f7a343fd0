"""`make bench`: the project's function against the naive baseline, under the real fdk."""
