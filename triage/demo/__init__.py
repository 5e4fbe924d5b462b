"""Demo and synthetic data: generated, benign pictures and a seeded workspace. The pipeline never
imports this package; tests, benchmarks and `triage demo` do."""
