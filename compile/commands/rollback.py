"""``kfp-mlops rollback``."""

import json
import sys

import click

from kfp_mlops.compile.commands.options import kube_options


def _fail(error: Exception, as_json: bool) -> None:
    """Ends the command with the error's exit status (compile/exits.py).

    As one JSON object with ``--json``, else as ``Error: <line>`` on stderr.
    """
    from kfp_mlops.compile.exits import exit_code, fail

    if not as_json:
        fail(error)
    kind = getattr(error, "kind", None)
    click.echo(json.dumps({"status": "failed", "error": str(error), "error_kind": kind}, indent=2))
    sys.exit(exit_code(kind))


@click.command("rollback")
@click.argument("name")
@click.option(
    "--tracking-uri",
    envvar="MLFLOW_TRACKING_URI",
    required=True,
    help="The MLflow store (default: $MLFLOW_TRACKING_URI).",
)
@click.option("--champion-alias", default="champion", show_default=True)
@click.option("--previous-alias", default="previous", show_default=True)
@click.option(
    "--alias-only",
    is_flag=True,
    help="Move the MLflow aliases only, leaving any InferenceService as it is.",
)
@kube_options
@click.option(
    "--timeout",
    type=float,
    default=600.0,
    show_default=True,
    help="Seconds the restored InferenceService revision may take to become ready.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as one JSON object.")
def rollback_command(
    name: str,
    tracking_uri: str,
    champion_alias: str,
    previous_alias: str,
    alias_only: bool,
    kubeconfig: str | None,
    kube_context: str | None,
    timeout: float,
    as_json: bool,
) -> None:
    """Restores the previous champion of registered model NAME.

    The version the champion replaced (its kfp_mlops.previous_champion tag, else the previous
    alias) becomes the champion again, and, when it was deployed by a pipeline (its kserve.*
    tags), its InferenceService is put back on that model first: on the cluster of the in-cluster
    config or kubeconfig. If that fails, no alias moves. If another run promotes meanwhile, no
    alias moves and the InferenceService is put on that new champion.
    With --json, one object: status, error, the model, the champion version before and after,
    the previous alias's version and the restored InferenceService (on failure: status, error,
    error_kind, and the exit status of compile/exits.py).
    """
    from kfp_mlops.components.common.errors import ComponentError, ComponentInputError
    from kfp_mlops.components.deployment.restore import restore_inference_service
    from kfp_mlops.components.registry.promotion import apply_rollback, plan_rollback

    restored_service = None
    try:
        plan = plan_rollback(tracking_uri, name, champion_alias, previous_alias)
        if not alias_only and plan.restored_deployment:
            service = plan.restored_deployment
            click.echo(
                f"Restoring InferenceService {service.get('namespace')}/{service.get('name')} "
                f"to version {plan.restored_version} ({service.get('storage_uri')})",
                err=True,
            )
            result = restore_inference_service(
                plan.restored_deployment,
                kubeconfig,
                kube_context,
                timeout,
                log=lambda line: click.echo(f"  {line}", err=True),
            )
            restored_service = {
                "namespace": result.namespace,
                "name": result.name,
                "revision": result.revision,
            }
            if not as_json:
                click.echo(
                    f"InferenceService {result.namespace}/{result.name}: revision "
                    f"{result.revision} serves 100%"
                )
        elif not alias_only and plan.current_deployment:
            raise ComponentInputError(
                f"version {plan.current_version} is deployed (InferenceService "
                f"{plan.current_deployment.get('namespace')}/{plan.current_deployment.get('name')}"
                f") but version {plan.restored_version} never was, so there is nothing to put "
                "back on the cluster; pass --alias-only to move only the aliases"
            )
        try:
            apply_rollback(tracking_uri, plan, champion_alias, previous_alias)
        except ComponentError as error:
            if restored_service is None:
                raise
            from kfp_mlops.components.deployment.undo import after_failed_rollback

            message = after_failed_rollback(
                tracking_uri,
                plan,
                error,
                champion_alias,
                log=lambda line: click.echo(f"  {line}", err=True),
            )
            raise type(error)(message) from None
    except ComponentError as error:
        _fail(error, as_json)
    if as_json:
        outcome = {
            "status": "succeeded",
            "error": None,
            "registered_model_name": name,
            "champion_alias": champion_alias,
            "champion_version": plan.restored_version,
            "replaced_version": plan.current_version,
            "previous_alias": previous_alias,
            "previous_version": plan.next_previous,
            "inference_service": restored_service,
        }
        click.echo(json.dumps(outcome, indent=2))
        return
    after = f", version {plan.next_previous} is {previous_alias!r}" if plan.next_previous else ""
    click.echo(
        f"{name}: version {plan.restored_version} is {champion_alias!r} again (was "
        f"{plan.current_version}){after}"
    )
