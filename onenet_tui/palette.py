"""The command palette (ctrl+p): the key registry's actions (:mod:`onenet_tui.keys`)
offered by name, refused ones explained."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from onenet_tui.i18n import t
from onenet_tui.keys import BY_ID, KeyAction, Scope, screen_keys, specs


class KeyCommands(Provider):
    """The command palette (ctrl+p) offers the same actions as the keys, in
    the same words; refused actions are explained, as when their key is pressed."""

    def _specs(self) -> list[KeyAction]:
        on_directory = hasattr(self.screen, "run_key_action")
        scopes = (Scope.APP, Scope.DIRECTORY) if on_directory else (Scope.APP,)
        own = [] if on_directory else [spec for spec, _ in screen_keys(self.screen)]
        return [*own, *(spec for spec in specs(*scopes) if spec.id != "palette")]

    def _help(self, spec: KeyAction) -> str:
        decision = getattr(self.screen, "decision", None)
        refusal = decision(spec) if decision and spec.scope is Scope.DIRECTORY else None
        if refusal is not None and not refusal.allowed and refusal.reason_key:
            return t("directory.palette.refused", description=spec.description, reason=t(refusal.reason_key))
        return spec.description

    async def _run(self, key_id: str) -> None:
        runner = getattr(self.screen, "run_key_action", None)
        if runner is not None:
            await runner(key_id)
            return
        # A key of this screen runs its own action (a dialog's escape closes it).
        own = {spec.id: binding for spec, binding in screen_keys(self.screen)}
        if key_id in own:
            await self.screen.run_action(own[key_id].action)
        else:
            await self.app.run_action(BY_ID[key_id].action)

    async def discover(self) -> Hits:
        for spec in self._specs():
            yield DiscoveryHit(spec.label, partial(self._run, spec.id), help=self._help(spec))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for spec in self._specs():
            score = matcher.match(spec.label)
            if score > 0:
                yield Hit(score, matcher.highlight(spec.label), partial(self._run, spec.id), help=self._help(spec))
