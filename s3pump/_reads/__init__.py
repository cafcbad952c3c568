"""_reads: see DESIGN.md section 4."""
