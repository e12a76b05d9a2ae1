"""The collaboration agreements (declarative YAML, imported whole or not at all) and the specialists'
absences that routing passes by."""
