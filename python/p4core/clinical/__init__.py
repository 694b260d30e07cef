"""The clinical side: pseudonymisation, comorbidity and risk scores, ranking flags, code tables and the
plausibility checks of clinical records. See docs/design.md."""
