"""_local: see DESIGN.md section 4."""
