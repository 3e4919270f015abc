"""The add-user wizard (SPEC sections 3 and 4), one job per module, each
layer a base of the next:

- :mod:`.steps`: the step forms, their field rules, what keeps a step undone;
- :mod:`.live_checks`: read-only service calls in workers as the form changes;
- :mod:`.review`: the review step's summary and problems;
- :mod:`.wizard`: the screen (steps container, navigation, the create worker).
"""

from onenet_tui.screens.add_user.steps import STEPS
from onenet_tui.screens.add_user.wizard import AddUserWizard

__all__ = ["STEPS", "AddUserWizard"]
