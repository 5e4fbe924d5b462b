"""Model cards shipped with triage (the repo's `models/` folder, packaged as triage.model_cards)."""
