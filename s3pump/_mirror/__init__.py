"""_mirror: see DESIGN.md section 4."""
