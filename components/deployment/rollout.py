"""Roll a predictor out to an InferenceService: create or patch, canary, smoke request, promote.

The rules (KServe Serverless mode, where each predictor change is a Knative revision):

- No InferenceService yet: create it, wait for Ready, send the smoke request. There is nothing to
  roll back to: a failure leaves the service for inspection and says so.
- One exists and a revision serves traffic: patch the predictor with ``canaryTrafficPercent``
  (default 10) so the new revision gets that share and the last rolled-out revision the rest;
  wait until the new revision is ready, send the smoke request to it (its ``latest`` tag URL),
  then promote it by removing ``canaryTrafficPercent`` (100 %) and wait for the route to follow.
  With a canary of 100 the predictor is patched directly.
- If anything fails after the patch (the new revision does not become ready in time, fails (a
  Ready condition False, a model that failed to load), fails the smoke request, the promotion
  fails, or the API keeps failing or the object vanishes while the rollout waits), roll back: the
  predictor is patched back to the one that was live, with ``canaryTrafficPercent: 0`` so all
  traffic stays on (or returns to) the last rolled-out revision at once; then the step fails with
  the reason and the rollback's outcome (restored, nothing left to restore, or the rollback's own
  failure). Transient API failures (429, 5xx, a lost connection) are retried by
  :mod:`kube_api` before they count as failures.
- If the step is stopped after the patch (SIGTERM, turned into ``SystemExit`` meanwhile by
  :mod:`.stopping`, or Ctrl-C), the same rollback runs before the process exits, waiting at most
  :data:`.stopping.STOP_GRACE_SECONDS` for the route, so that no share of traffic stays on a
  revision that was never checked; the stop then goes on (exit status 143 for SIGTERM).
- One exists but no revision serves traffic (it never became ready): there is no good revision
  to split traffic with; the predictor is patched directly.

The traffic rules are kserve@aaac4e2
``pkg/controller/v1beta1/inferenceservice/reconcilers/knative/ksvc_reconciler.go``: with
``canaryTrafficPercent`` N set and a ``latestRolledoutRevision``, the latest revision gets N % and
the last rolled-out one the rest (tag ``prev``); without the field the latest gets 100 %.

Every patch is a JSON merge patch (kubernetes 30.1.0 ``patch_namespaced_custom_object``:
``application/merge-patch+json``) carrying the ``resourceVersion`` read just before it, so the API
server refuses it (409) if another client changed the object meanwhile; the object is then read
again and the patch retried, up to :data:`CONFLICT_RETRIES` times, unless the spec itself was
changed by someone else (the rollout then stops rather than overwrite their change).

Two rollouts of one InferenceService at once (two runs deploying, or a person editing it): the
spec's ``metadata.generation`` moves with every spec change, so each rollout remembers the
generation its own last patch produced. When the spec is at another generation, another client
changed it: the rollout stops without promoting, and its rollback leaves the spec alone (their
change stays; the message says so) instead of merging its old predictor over theirs.
"""

import copy
import dataclasses
from collections.abc import Callable, Mapping

from kfp_mlops.components.common.errors import (
    ComponentError,
    ComponentInputError,
    ExternalSystemError,
)
from kfp_mlops.components.common.kube_api import Conflict, InferenceServices
from kfp_mlops.components.deployment.stopping import STOP_GRACE_SECONDS, sigterm_as_exit

CONFLICT_RETRIES = 5
DEFAULT_CANARY_PERCENT = 10
ROLLBACK_TIMEOUT = 120.0
"""Seconds to wait for traffic to be back on the last rolled-out revision after a rollback."""

Smoke = Callable[[str], None]
"""Sends the smoke request to a base URL; raises ComponentInputError naming what went wrong."""


def condition(service: Mapping, kind: str) -> Mapping | None:
    """The status condition of type ``kind`` (``Ready``, ``PredictorReady``...), if any."""
    for item in service.get("status", {}).get("conditions") or []:
        if item.get("type") == kind:
            return item
    return None


def is_ready(service: Mapping) -> bool:
    """True when the Ready condition is True for the current generation."""
    ready = condition(service, "Ready")
    observed = service.get("status", {}).get("observedGeneration", 0)
    return (
        ready is not None
        and ready.get("status") == "True"
        and observed >= service["metadata"].get("generation", 0)
    )


def predictor_status(service: Mapping) -> Mapping:
    """``status.components.predictor`` (revisions, traffic, URLs), empty when absent."""
    return service.get("status", {}).get("components", {}).get("predictor", {}) or {}


def traffic(service: Mapping) -> list[dict[str, object]]:
    """The predictor's traffic targets: revision, percent, tag, latestRevision, url."""
    return [dict(item) for item in predictor_status(service).get("traffic") or []]


def is_serving(service: Mapping) -> bool:
    """True when some revision receives traffic.

    A canary can then be split against it and a failed rollout rolled back to it (even while a newer
    revision is still starting).
    """
    return any(item.get("percent") for item in traffic(service))


def failure(service: Mapping, generation: int) -> str | None:
    """Why the revision for ``generation`` cannot become ready, if the status already says so.

    A Ready condition False for that generation (e.g. RevisionFailed) or a model that failed to
    load (``modelStatus.transitionStatus`` BlockedByFailedLoad) is final; Unknown is not.
    """
    status = service.get("status", {})
    if status.get("observedGeneration", 0) < generation:
        return None
    model_status = status.get("modelStatus") or {}
    if model_status.get("transitionStatus") == "BlockedByFailedLoad":
        info = model_status.get("lastFailureInfo") or {}
        return f"the model failed to load: {info.get('reason', '')} {info.get('message', '')}"
    for kind in ("PredictorReady", "Ready"):
        found = condition(service, kind)
        if found is not None and found.get("status") == "False":
            return (
                f"{kind} is False: {found.get('reason', 'no reason')}: "
                f"{found.get('message', 'no message')}"
            )
    return None


def describe_wait(service: Mapping | None) -> str:
    """What the status said last, for a timeout message."""
    if service is None:
        return "the InferenceService does not exist"
    ready = condition(service, "Ready")
    if ready is None:
        return "no Ready condition yet"
    return (
        f"Ready={ready.get('status')} ({ready.get('reason', 'no reason')}: "
        f"{ready.get('message', 'no message')})"
    )


def merge_patch(source: object, target: object) -> object:
    """The JSON merge patch (RFC 7386) turning ``source`` into ``target``.

    Keys absent from ``target`` become null, nested objects are patched key by key, anything else is
    replaced.
    """
    if not isinstance(source, Mapping) or not isinstance(target, Mapping):
        return copy.deepcopy(target)
    patch: dict[str, object] = {}
    for key in sorted(source.keys() - target.keys()):
        patch[key] = None
    for key, value in target.items():
        if key not in source:
            patch[key] = copy.deepcopy(value)
        elif source[key] != value:
            patch[key] = merge_patch(source[key], value)
    return patch


OPTIONAL_FIELDS = (("serviceAccountName",), ("model", "runtime"))
"""Predictor fields the manifest sets only when asked: cleared when no longer asked for."""
EXACT_FIELDS = (("model", "resources"),)
"""Predictor fields made exactly equal to the manifest's (a GPU no longer asked for goes)."""


def predictor_patch(live: Mapping, wanted: Mapping) -> dict[str, object]:
    """The merge patch giving the live predictor the fields this library manages, as ``wanted``.

    Fields the manifest does not set (defaults the KServe webhook added, fields another tool owns)
    are left alone, except :data:`OPTIONAL_FIELDS`, cleared when ``wanted`` lacks them, and
    :data:`EXACT_FIELDS`, replaced as a whole.
    """
    target = copy.deepcopy(dict(wanted))
    for path in OPTIONAL_FIELDS:
        holder = target
        for key in path[:-1]:
            holder = holder.setdefault(key, {})
        holder.setdefault(path[-1], None)
    return _overlay(live, target, ())


def _overlay(source: Mapping, target: Mapping, path: tuple[str, ...]) -> dict[str, object]:
    patch: dict[str, object] = {}
    for key, value in target.items():
        here = (*path, key)
        old = source.get(key)
        if value is None:
            if old is not None:
                patch[key] = None
        elif here in EXACT_FIELDS:
            if old != value:
                patch[key] = merge_patch(old or {}, value)
        elif isinstance(value, Mapping) and isinstance(old, Mapping):
            nested = _overlay(old, value, here)
            if nested:
                patch[key] = nested
        elif old != value:
            patch[key] = copy.deepcopy(value)
    return patch


def _ready_revision(service: Mapping, generation: int, before: str | None) -> bool:
    """The object's status shows a ready revision for ``generation`` that is not ``before``."""
    status = predictor_status(service)
    latest_ready = status.get("latestReadyRevision")
    return (
        service.get("status", {}).get("observedGeneration", 0) >= generation
        and latest_ready is not None
        and latest_ready == status.get("latestCreatedRevision")
        and latest_ready != before
    )


def _all_traffic_on_latest(service: Mapping) -> bool:
    targets = traffic(service)
    return is_ready(service) and any(
        item.get("latestRevision") and item.get("percent") == 100 for item in targets
    )


def smoke_url(service: Mapping) -> str:
    """Where to send the smoke request for the latest revision.

    The ``latest`` tag URL of the traffic target of the latest revision (tag routing reaches that
    revision alone), else the predictor's cluster-local address, else the service URL.
    """
    for item in traffic(service):
        if item.get("latestRevision") and item.get("url"):
            return str(item["url"])
    status = service.get("status", {})
    predictor = predictor_status(service)
    for url in (
        (predictor.get("address") or {}).get("url"),
        (status.get("address") or {}).get("url"),
        predictor.get("url"),
        status.get("url"),
    ):
        if url:
            return str(url)
    raise ComponentInputError(
        f"InferenceService {service['metadata']['name']} is Ready but its status has no URL "
        "to send the smoke request to"
    )


@dataclasses.dataclass(frozen=True)
class RolloutResult:
    """What the rollout did and where the service stands now.

    Attributes:
        name: The InferenceService.
        namespace: Its namespace.
        action: ``created``, ``canary-promoted``, ``patched`` or ``unchanged``.
        url: The service URL (external) or, without one, its cluster-local address.
        revision: The revision serving all traffic.
        previous_revision: The revision that served before (None on creation).
        traffic: The traffic targets after promotion.
        generation: The metadata.generation of the deployed spec.
    """

    name: str
    namespace: str
    action: str
    url: str
    revision: str
    previous_revision: str | None
    traffic: list[dict[str, object]]
    generation: int

    def metadata(self) -> dict[str, object]:
        """JSON-ready description for the output artifact."""
        return dataclasses.asdict(self)


class Rollout:
    """Deploys one predictor spec to one InferenceService, as described in the module docstring.

    Args:
        services: The namespace's InferenceServices.
        manifest: The whole InferenceService manifest to create when absent; its
            ``spec.predictor`` (without ``canaryTrafficPercent``) is what is rolled out.
        smoke: Called with the new revision's base URL; raises to fail the rollout.
        canary_traffic_percent: The new revision's share while it is checked; 100 disables
            the canary phase.
        timeout: Seconds to wait for each phase (readiness, promotion).
        log: Receives one line per step.
    """

    def __init__(
        self,
        services: InferenceServices,
        manifest: Mapping,
        smoke: Smoke,
        canary_traffic_percent: int = DEFAULT_CANARY_PERCENT,
        timeout: float = 600.0,
        log: Callable[[str], None] = print,
    ) -> None:
        if not 1 <= canary_traffic_percent <= 100:
            raise ComponentInputError(
                f"canary_traffic_percent {canary_traffic_percent} is not between 1 and 100"
            )
        if timeout <= 0:
            raise ComponentInputError(f"ready timeout {timeout} s is not positive")
        self.services = services
        self.manifest = copy.deepcopy(dict(manifest))
        self.name = str(self.manifest["metadata"]["name"])
        self.predictor = dict(self.manifest["spec"]["predictor"])
        self.predictor.pop("canaryTrafficPercent", None)
        self.smoke = smoke
        self.canary = canary_traffic_percent
        self.timeout = timeout
        self.log = log
        self._written: int | None = None
        """The generation this rollout's last patch produced (None before its first)."""

    @property
    def where(self) -> str:
        """``namespace/name``."""
        return f"{self.services.namespace}/{self.name}"

    def run(self) -> RolloutResult:
        """Creates or updates the service; returns where it stands, or raises with the reason.

        Raises:
            ComponentInputError: A permission, validation or connection problem, or the new
                revision failed (after the rollback, which the message reports).
        """
        for _ in range(CONFLICT_RETRIES):
            current = self.services.get(self.name)
            if current is None:
                try:
                    created = self.services.create(self.manifest)
                except Conflict:
                    self.log(f"{self.where} was created by another client meanwhile; reading it")
                    continue
                return self._finish_creation(created)
            try:
                return self._update(current)
            except Conflict:
                self.log(f"{self.where} changed while being patched (409 Conflict); reading it")
        raise ComponentInputError(
            f"InferenceService {self.where} kept changing while being patched (409 Conflict "
            f"{CONFLICT_RETRIES} times): another client is updating it; try again later"
        )

    def _patch(
        self, current: Mapping, spec_patch: Mapping, metadata: Mapping | None = None
    ) -> dict:
        """A merge patch guarded by the resourceVersion of ``current`` (409 if it is stale)."""
        guard = {"resourceVersion": current["metadata"]["resourceVersion"]}
        patch = {"metadata": {**guard, **(metadata or {})}, "spec": dict(spec_patch)}
        patched = self.services.patch(self.name, patch)
        self._written = patched["metadata"].get("generation")
        return patched

    def _wait(self, generation: int, before: str | None) -> tuple[dict | None, str | None]:
        """Waits for a ready revision of ``generation``; returns the object and any failure."""
        failed: list[str] = []

        def done(service: Mapping) -> bool:
            if service["metadata"].get("generation", 0) > generation:
                failed.append(
                    f"the spec was changed by another client (generation "
                    f"{service['metadata']['generation']} > {generation})"
                )
                return True
            reason = failure(service, generation)
            if reason is not None:
                failed.append(reason)
                return True
            return is_ready(service) and _ready_revision(service, generation, before)

        service, finished = self.services.wait_for(self.name, done, self.timeout)
        if failed:
            return service, failed[0]
        if not finished:
            return service, (
                f"the new revision was not ready after {self.timeout:g} s; last status: "
                f"{describe_wait(service)}"
            )
        return service, None

    def _check(self, service: Mapping) -> str | None:
        try:
            self.smoke(smoke_url(service))
        except ComponentError as error:
            return f"the smoke request failed: {error}"
        return None

    def _finish_creation(self, created: Mapping) -> RolloutResult:
        generation = created["metadata"].get("generation", 1)
        self.log(f"created {self.where} (generation {generation}); waiting for Ready")
        service, problem = self._wait(generation, None)
        if problem is None:
            problem = self._check(service)
        if problem is not None:
            raise ComponentInputError(
                f"InferenceService {self.where} was created but {problem}; there is no earlier "
                f"revision to roll back to, so it is left for inspection (kubectl describe "
                f"inferenceservice {self.name} -n {self.services.namespace})"
            )
        return self._result("created", service, None)

    def _update(self, current: Mapping) -> RolloutResult:
        live_predictor = dict(current["spec"]["predictor"])
        change = predictor_patch(live_predictor, self.predictor)
        canary_set = live_predictor.get("canaryTrafficPercent") is not None
        previous = predictor_status(current).get("latestReadyRevision")
        if not change:
            return self._unchanged(current, previous, canary_set)
        was_serving = is_serving(current)
        use_canary = was_serving and self.canary < 100
        if use_canary:
            change["canaryTrafficPercent"] = self.canary
        elif canary_set:
            change["canaryTrafficPercent"] = None
        metadata = {
            "labels": self.manifest["metadata"].get("labels", {}),
            "annotations": self.manifest["metadata"].get("annotations", {}),
        }
        patched = self._patch(current, {"predictor": change}, metadata)
        generation = patched["metadata"]["generation"]
        mode = f"canary at {self.canary}%" if use_canary else "directly"
        self.log(f"patched {self.where} (generation {generation}, {mode}); waiting for it")
        try:
            with sigterm_as_exit():
                service, problem = self._wait(generation, previous)
                if problem is None:
                    problem = self._check(service)
                if problem is None and use_canary:
                    service = self._promote(service, generation)
        except Exception as error:  # any failure after the patch: the old predictor goes back
            problem = str(error) if isinstance(error, ComponentError) else repr(error)
            self._fail_after_patch(live_predictor, problem, was_serving, error)
        except BaseException as stop:  # stopped (SIGTERM, Ctrl-C): roll back, then stop
            if was_serving:
                reason = f"the step was stopped ({type(stop).__name__} {stop})"
                self.log(self._roll_back(live_predictor, reason, STOP_GRACE_SECONDS))
            raise
        if problem is not None:
            self._fail_after_patch(live_predictor, problem, was_serving, None)
        return self._result("canary-promoted" if use_canary else "patched", service, previous)

    def _fail_after_patch(
        self, live_predictor: Mapping, problem: str, was_serving: bool, cause: Exception | None
    ) -> None:
        """Rolls back when a revision served before, then raises with the problem.

        A failing system's error when the cluster failed (retrying may help), else an input error.
        """
        error = (
            ExternalSystemError if isinstance(cause, ExternalSystemError) else ComponentInputError
        )
        if was_serving:
            raise error(self._roll_back(live_predictor, problem)) from cause
        raise error(
            f"InferenceService {self.where} served no traffic before this rollout and "
            f"{problem}; there is no ready revision to roll back to"
        ) from cause

    def _unchanged(self, current: Mapping, previous: str | None, canary_set: bool) -> RolloutResult:
        """The predictor is already the wanted one: check it, and finish an unfinished canary.

        ``canaryTrafficPercent`` still set means an earlier rollout stopped before promoting (or
        was rolled back to this very predictor): the latest revision is smoke-checked, then
        promoted.
        """
        self.log(f"{self.where} already has this predictor; checking it")
        if canary_set:
            ready, _ = self.services.wait_for(
                self.name, lambda item: _ready_revision(item, 0, None), self.timeout
            )
            if ready is None or not _ready_revision(ready, 0, None):
                raise ComponentInputError(
                    f"InferenceService {self.where} already has this predictor, left at a canary "
                    f"percentage, and its latest revision is not ready: {describe_wait(ready)}"
                )
            problem = self._check(ready)
            if problem is not None:
                raise ComponentInputError(f"InferenceService {self.where}: {problem}")
            promoted = self._promote(ready, ready["metadata"]["generation"])
            return self._result("canary-promoted", promoted, previous)
        if not is_ready(current):
            raise ComponentInputError(
                f"InferenceService {self.where} already has this predictor but is not Ready: "
                f"{describe_wait(current)}"
            )
        problem = self._check(current)
        if problem is not None:
            raise ComponentInputError(f"InferenceService {self.where}: {problem}")
        return self._result("unchanged", current, previous)

    def _promote(self, service: Mapping, generation: int) -> dict:
        """Removes ``canaryTrafficPercent`` so the new revision takes all traffic."""
        for _ in range(CONFLICT_RETRIES):
            if service["metadata"].get("generation") != generation:
                raise ComponentInputError(
                    f"InferenceService {self.where} was changed by another client during the "
                    "canary; not promoting"
                )
            try:
                promoted = self._patch(service, {"predictor": {"canaryTrafficPercent": None}})
                break
            except Conflict:
                service = self.services.get(self.name) or {}
                if not service:
                    raise ComponentInputError(
                        f"InferenceService {self.where} was deleted during the canary"
                    ) from None
        else:
            raise ComponentInputError(
                f"InferenceService {self.where} kept changing during promotion (409 Conflict "
                f"{CONFLICT_RETRIES} times)"
            )
        self.log(f"promoted {self.where} to 100% (generation {promoted['metadata']['generation']})")
        final, done = self.services.wait_for(self.name, _all_traffic_on_latest, self.timeout)
        if not done:
            raise ComponentInputError(
                f"InferenceService {self.where} was promoted but traffic did not move to 100% on "
                f"the new revision within {self.timeout:g} s; last status: {describe_wait(final)}"
            )
        return final

    def _roll_back(
        self, live_predictor: Mapping, problem: str, wait: float = ROLLBACK_TIMEOUT
    ) -> str:
        """Restores ``live_predictor`` with all traffic on the last rolled-out revision.

        ``wait`` bounds the wait for the route to confirm it (and :attr:`timeout` too).

        Returns:
            The one-line message the step fails with: the original problem, then the rollback's
            outcome (restored, gone, or failed too and why).
        """
        try:
            outcome = self._restore(live_predictor, wait)
        except ComponentError as error:
            outcome = (
                f"the rollback failed too: {error}; restore the predictor by hand (kubectl edit "
                f"inferenceservice {self.name} -n {self.services.namespace})"
            )
        return f"rollout of {self.where} failed: {problem}; {outcome}"

    def _restore(self, live_predictor: Mapping, wait: float) -> str:
        """Patches the predictor back and waits for the route; returns what happened."""
        for _ in range(CONFLICT_RETRIES):
            current = self.services.get(self.name)
            if current is None:
                return (
                    "nothing to roll back: the InferenceService no longer exists (404 on reading "
                    "it again)"
                )
            generation = current["metadata"].get("generation")
            if self._written is not None and generation != self._written:
                return (
                    f"not rolled back: another client changed the spec meanwhile (generation "
                    f"{generation}, this rollout's {self._written}), and their change is left "
                    "in place"
                )
            restore = merge_patch(current["spec"]["predictor"], live_predictor)
            restore["canaryTrafficPercent"] = 0
            try:
                self._patch(current, {"predictor": restore})
                break
            except Conflict:
                continue
        else:
            return "the rollback patch kept conflicting (409): restore the predictor by hand"
        self.log(f"rolled back {self.where}: predictor restored, canaryTrafficPercent 0")

        def traffic_back(service: Mapping) -> bool:
            targets = [item for item in traffic(service) if item.get("percent")]
            return (
                len(targets) == 1
                and targets[0].get("percent") == 100
                and not targets[0].get("latestRevision")
            )

        wait = min(self.timeout, wait)
        final, back = self.services.wait_for(self.name, traffic_back, wait)
        if back:
            (revision,) = [
                item.get("revisionName") for item in traffic(final) if item.get("percent") == 100
            ]
            return f"rolled back: 100% of traffic on revision {revision}"
        return (
            "rolled back the predictor spec, but the route did not confirm 100% on the last "
            f"rolled-out revision within {wait:g} s"
        )

    def _result(self, action: str, service: Mapping, previous: str | None) -> RolloutResult:
        status = service.get("status", {})
        url = status.get("url") or (status.get("address") or {}).get("url") or ""
        return RolloutResult(
            name=self.name,
            namespace=self.services.namespace,
            action=action,
            url=str(url),
            revision=str(predictor_status(service).get("latestReadyRevision", "")),
            previous_revision=previous,
            traffic=traffic(service),
            generation=int(service["metadata"].get("generation", 0)),
        )
