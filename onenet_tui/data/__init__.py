"""The domain: entities, input schemas, the policy table, services and storage.

Nothing in this package imports Textual (a test enforces it), so the command
line and the console share exactly the same rules.
"""
