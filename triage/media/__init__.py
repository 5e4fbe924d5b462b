"""Media: what each kind of media (pictures today) yields when decoded: signals, derivative, metadata."""
