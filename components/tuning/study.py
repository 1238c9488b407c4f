"""One Optuna study shared by every worker of a tuning run: where it is stored and how it is set up.

Storage. ``OPTUNA_STORAGE_URL`` in the environment names an Optuna RDB storage (on a cluster, a
PostgreSQL URL such as ``postgresql+psycopg://optuna:PASSWORD@postgres:5432/optuna`` that
kfp-kubernetes puts there from a Kubernetes secret, so no credential is ever in the pipeline YAML).
Without it, the study lives in a SQLite file inside the study artifact, which every step of a
``kfp.local`` run reads and writes in place; on a cluster that copy would be private to each pod, so
it is refused there.

Setup. The study records its whole configuration (estimator, fixed hyperparameters, search space,
metric, sampler, pruner, seed, trial budget, workers) in a user attribute. A worker rebuilds its
sampler and pruner from it, so workers cannot disagree; creating the study again with the same name
continues it, and with another configuration fails, naming what differs (only the trial budget may
change, to extend a study).

Budget. Worker ``i`` of ``n`` runs its share of the trials (``n_trials // n``, one more for the
first ``n_trials % n``). Each trial records its worker; a worker counts its own finished trials
and runs only the rest, so a retried or re-run worker continues where it stopped and the study
ends with exactly ``n_trials`` finished trials, none run twice.

Dead workers. Trials send a heartbeat; a trial whose worker died stays RUNNING until a heartbeat is
missed for the grace period and is then failed by the next worker or summary that looks (optuna
5.0.0: ``study/_optimize.py`` calls ``storages/_heartbeat.py`` ``fail_stale_trials`` before each
trial; ``heartbeat_interval`` warns as experimental in ``storages/_rdb/storage.py``). A restarted
worker fails its own earlier RUNNING trials at once (one live process per worker index and study).
A trial failed that way does not count as finished, so it is run again.
"""

import dataclasses
import json
import os
import sqlite3
import uuid
import warnings
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

import optuna
import sqlalchemy
from optuna.trial import TrialState

from kfp_mlops.components.common.atomic import atomic_directory, write_text
from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.tuning import scores, search_space, trainers

STORAGE_ENV = "OPTUNA_STORAGE_URL"
"""The environment variable naming an external Optuna storage (set from a Kubernetes secret)."""

DATABASE_FILE = "study.db"
"""The SQLite file inside the study artifact when no external storage is given."""

STUDY_FILE = "study.json"
"""The description of the study inside the study artifact: its name, storage and configuration."""

CONFIG_ATTR = "kfp_mlops_config"
WORKER_ATTR = "worker"
ERROR_ATTR = "error"

HEARTBEAT_INTERVAL = 10
"""Seconds between two heartbeats of a running trial."""

GRACE_PERIOD = 60
"""Seconds without a heartbeat after which a running trial is taken for dead and failed."""

SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "none")

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


@dataclasses.dataclass(frozen=True)
class StudyConfig:
    """What a study searches and how: the part every worker must agree on."""

    estimator: str
    search_space: dict[str, dict[str, object]]
    hyperparameters: dict[str, object]
    metric: str
    sampler: str
    pruner: str
    seed: int
    n_trials: int
    n_workers: int

    @property
    def direction(self) -> str:
        """``maximize`` or ``minimize``, from the metric."""
        return scores.metric(self.metric).direction

    def space(self) -> search_space.SearchSpace:
        """The parsed search space."""
        return search_space.parse_search_space(self.search_space)

    def share(self, worker: int) -> int:
        """How many finished trials worker ``worker`` owes the study."""
        if not 0 <= worker < self.n_workers:
            raise ComponentInputError(
                f"worker {worker} is out of range: the study has {self.n_workers} worker(s), "
                f"0 to {self.n_workers - 1}"
            )
        base, extra = divmod(self.n_trials, self.n_workers)
        return base + (1 if worker < extra else 0)


def build_config(
    estimator: str,
    search_space_spec: Mapping[str, object] | None,
    hyperparameters: Mapping[str, object] | None,
    metric: str,
    sampler: str,
    pruner: str,
    seed: int,
    n_trials: int,
    n_workers: int,
) -> StudyConfig:
    """Checks every input of a study and returns its configuration.

    An empty or missing search space means the estimator's default space. Each range's ends and
    each choice are checked against the estimator together with the fixed hyperparameters, so a
    value the estimator refuses fails here, before any trial.

    Raises:
        ComponentInputError: Naming the bad parameter, value, metric, sampler or count.
    """
    family = trainers.family_for(estimator, scores.task_of(metric))
    scores.metric(metric)
    if sampler not in SAMPLERS:
        raise ComponentInputError(
            f"unknown sampler {sampler!r}; choose one of: {', '.join(SAMPLERS)}"
        )
    if pruner not in PRUNERS:
        raise ComponentInputError(f"unknown pruner {pruner!r}; choose one of: {', '.join(PRUNERS)}")
    if n_trials < 1:
        raise ComponentInputError(f"n_trials must be at least 1, got {n_trials}")
    if n_workers < 1:
        raise ComponentInputError(f"n_workers must be at least 1, got {n_workers}")
    fixed = dict(hyperparameters or {})
    space = search_space.parse_search_space(
        search_space_spec or family.default_search_space(estimator)
    )
    overlap = sorted(set(space) & set(fixed))
    if overlap:
        raise ComponentInputError(
            f"hyperparameter(s) {', '.join(map(repr, overlap))} are both fixed and searched: "
            "remove them from hyperparameters or from the search space"
        )
    family.check(estimator, fixed)
    for name, parameter in space.items():
        for value in parameter.bounds():
            try:
                family.check(estimator, {**fixed, name: value})
            except ComponentInputError as error:
                raise ComponentInputError(
                    f"search space parameter {name!r}: value {value!r} is refused: {error}"
                ) from error
    if sampler == "grid" and n_trials > search_space.grid_size(space):
        raise ComponentInputError(
            f"n_trials {n_trials} exceeds the {search_space.grid_size(space)} combinations of the "
            "grid: lower n_trials or widen the grid"
        )
    return StudyConfig(
        estimator=estimator,
        search_space=search_space.as_dict(space),
        hyperparameters=fixed,
        metric=metric,
        sampler=sampler,
        pruner=pruner,
        seed=seed,
        n_trials=n_trials,
        n_workers=n_workers,
    )


def redact(url: str) -> str:
    """``url`` without its password, fit for logs and metadata."""
    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        raise ComponentInputError(
            f"{STORAGE_ENV} is not a database URL such as "
            "postgresql+psycopg://USER:PASSWORD@HOST:5432/DB"
        ) from None


def _is_local(artifact_uri: str) -> bool:
    return urlparse(artifact_uri).scheme in ("", "file")


def storage_url(study_dir: str | os.PathLike[str], artifact_uri: str) -> str:
    """The storage of a study: ``OPTUNA_STORAGE_URL``, else the SQLite file in the artifact.

    Raises:
        ComponentInputError: No external storage and the artifact is not on a local filesystem
            (a cluster run, where each pod would get its own copy of the file).
    """
    external = os.environ.get(STORAGE_ENV, "").strip()
    if external:
        redact(external)  # fails on a malformed URL
        for prefix in ("postgresql://", "postgres://"):
            if external.startswith(prefix):
                # The driver this package installs (psycopg 3), not SQLAlchemy's default psycopg2.
                return "postgresql+psycopg://" + external.removeprefix(prefix)
        return external
    if not _is_local(artifact_uri):
        raise ComponentInputError(
            f"no {STORAGE_ENV} for the study in {artifact_uri}: a SQLite study inside the artifact "
            "only works when all steps share one filesystem (kfp.local); on a cluster put a "
            "PostgreSQL URL in the storage secret (key 'url')"
        )
    return f"sqlite:///{Path(study_dir).resolve() / DATABASE_FILE}"


def open_storage(
    url: str,
    heartbeat_interval: int = HEARTBEAT_INTERVAL,
    grace_period: int = GRACE_PERIOD,
    set_up: bool = False,
) -> optuna.storages.RDBStorage:
    """An RDB storage for ``url`` with trial heartbeats on.

    ``set_up``: the study's creation (:func:`create`) has already made Optuna's tables and checked
    their schema against this Optuna version, so opening skips both: Optuna 5.0.0's
    ``RDBStorage.__init__`` (optuna/storages/_rdb/storage.py) then neither asks the database about
    every table (``create_all``, skip_table_creation) nor reads alembic's migration scripts for the
    head revision (``check_table_schema_compatibility``, skip_compatibility_check). It still reads
    the schema's version row, so a storage without Optuna's tables fails here, in one line.
    """
    redact(url)  # fails on a malformed URL
    engine_kwargs: dict[str, object] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        # Workers write at once; wait for the lock rather than fail.
        engine_kwargs = {"connect_args": {"timeout": 60}}
    with warnings.catch_warnings():
        # The heartbeat is marked experimental; it is what fails the trials of dead workers.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            return optuna.storages.RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=heartbeat_interval,
                grace_period=grace_period,
                skip_compatibility_check=set_up,
                skip_table_creation=set_up,
            )
        except (
            sqlalchemy.exc.OperationalError,
            sqlalchemy.exc.ProgrammingError,
            # Optuna wraps an error of its version query (a storage without its tables).
            optuna.exceptions.StorageInternalError,
            ImportError,
        ) as error:
            cause = str(error.__cause__ or error).strip()
            first_line = cause.splitlines()[0] if cause else ""
            raise ComponentInputError(
                f"cannot open the Optuna storage {redact(url)}: {first_line}"
            ) from error


def make_sampler(config: StudyConfig, worker: int) -> optuna.samplers.BaseSampler:
    """The study's sampler for ``worker``, seeded with ``seed + worker``."""
    seed = config.seed + worker
    if config.sampler == "grid":
        return optuna.samplers.GridSampler(search_space.grid(config.space()), seed=seed)
    if config.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def make_pruner(config: StudyConfig) -> optuna.pruners.BasePruner:
    """The study's pruner: the median rule after 5 finished trials, or none."""
    if config.pruner == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)


@dataclasses.dataclass(frozen=True)
class StudyRef:
    """Where a study is: what the study artifact's ``study.json`` holds."""

    study_name: str
    storage: str
    """The storage URL without its password, or ``sqlite-artifact`` for the file in the artifact."""
    config: StudyConfig

    def to_json(self) -> str:
        """The ``study.json`` text."""
        data = {
            "study_name": self.study_name,
            "storage": self.storage,
            "config": dataclasses.asdict(self.config),
        }
        return json.dumps(data, indent=2, sort_keys=True)

    def metadata(self) -> dict[str, object]:
        """The study artifact's metadata."""
        return {
            "study_name": self.study_name,
            "storage": self.storage,
            "estimator": self.config.estimator,
            "metric": self.config.metric,
            "direction": self.config.direction,
            "n_trials": self.config.n_trials,
            "n_workers": self.config.n_workers,
        }

    @classmethod
    def read(cls, study_dir: str | os.PathLike[str]) -> "StudyRef":
        """Reads ``study.json`` from a study artifact.

        Raises:
            ComponentInputError: The artifact is not a study made by ``create_study``.
        """
        path = Path(study_dir) / STUDY_FILE
        if not path.is_file():
            raise ComponentInputError(
                f"{study_dir} is not a study artifact: it has no {STUDY_FILE}"
            )
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["study_name"], data["storage"], StudyConfig(**data["config"]))


def _storage_label(url: str, study_dir: str | os.PathLike[str]) -> str:
    local = f"sqlite:///{Path(study_dir).resolve() / DATABASE_FILE}"
    return "sqlite-artifact" if url == local else redact(url)


def _check_same_config(name: str, stored: Mapping[str, object], config: StudyConfig) -> None:
    wanted = dataclasses.asdict(config)
    differing = sorted(
        key for key in wanted if key != "n_trials" and stored.get(key) != wanted[key]
    )
    if differing:
        details = "; ".join(
            f"{key}: {stored.get(key)!r} there, {wanted[key]!r} here" for key in differing
        )
        raise ComponentInputError(
            f"study {name!r} already exists with another configuration ({details}): use the same "
            "settings to continue it, or another study name"
        )


def create(
    study_dir: str | os.PathLike[str],
    artifact_uri: str,
    study_name: str,
    config: StudyConfig,
) -> StudyRef:
    """Creates the study, or loads it to continue, and writes the study artifact.

    The artifact directory holds ``study.json`` and, without an external storage, ``study.db``.
    An existing external study with the same name is continued when its configuration matches.

    Raises:
        ComponentInputError: Unreachable storage, or an existing study with another configuration.
    """
    if not study_name:
        raise ComponentInputError("the study name is empty")
    url = storage_url(study_dir, artifact_uri)
    if _storage_label(url, study_dir) == "sqlite-artifact":
        # A new SQLite study: build it aside and move it into place whole.
        with atomic_directory(study_dir) as folder:
            _create_or_load(f"sqlite:///{folder / DATABASE_FILE}", study_name, config)
            connection = sqlite3.connect(folder / DATABASE_FILE)
            try:
                # Readers do not block the writer: workers write while others read.
                connection.execute("pragma journal_mode=wal")
            finally:
                connection.close()
            reference = StudyRef(study_name, "sqlite-artifact", config)
            write_text(folder / STUDY_FILE, reference.to_json())
        return reference
    _create_or_load(url, study_name, config)
    reference = StudyRef(study_name, redact(url), config)
    write_text(Path(study_dir) / STUDY_FILE, reference.to_json())
    return reference


def create_from_inputs(
    study_dir: str,
    artifact_uri: str,
    estimator: str,
    search_space_spec: Mapping[str, object] | None,
    hyperparameters: Mapping[str, object] | None,
    metric: str,
    n_trials: int,
    n_workers: int,
    sampler: str,
    pruner: str,
    seed: int,
    study_name: str | None,
    kfp_run_id: str | None,
) -> StudyRef:
    """Checks the inputs of ``create_study`` and creates the study (see :func:`create`).

    The study is named ``study_name``, else ``tune-<kfp_run_id>``, else ``tune-<random>``.
    """
    config = build_config(
        estimator,
        search_space_spec,
        hyperparameters,
        metric,
        sampler,
        pruner,
        seed,
        n_trials,
        n_workers,
    )
    if study_name:
        name = study_name
    elif kfp_run_id:
        name = f"tune-{kfp_run_id}"
    else:
        name = f"tune-{uuid.uuid4().hex[:12]}"
    return create(study_dir, artifact_uri, name, config)


def _create_or_load(url: str, study_name: str, config: StudyConfig) -> None:
    storage = open_storage(url)
    try:
        study = optuna.create_study(
            storage=storage,
            study_name=study_name,
            direction=config.direction,
            load_if_exists=True,
        )
        if study.direction.name.lower() != config.direction:
            raise ComponentInputError(
                f"study {study_name!r} already exists and is to {study.direction.name.lower()}, "
                f"but metric {config.metric!r} is to {config.direction}"
            )
        stored = study.user_attrs.get(CONFIG_ATTR)
        if stored is not None:
            _check_same_config(study_name, stored, config)
        if stored != dataclasses.asdict(config):
            study.set_user_attr(CONFIG_ATTR, dataclasses.asdict(config))
    finally:
        storage.engine.dispose()


def load(
    study_dir: str | os.PathLike[str],
    artifact_uri: str,
    worker: int = 0,
    heartbeat_interval: int = HEARTBEAT_INTERVAL,
    grace_period: int = GRACE_PERIOD,
) -> tuple[optuna.Study, StudyConfig]:
    """Opens the study of a study artifact with the sampler of ``worker`` and the study's pruner.

    Raises:
        ComponentInputError: The storage differs from the one the study was created in, or the
            study is missing from it.
    """
    reference = StudyRef.read(study_dir)
    url = storage_url(study_dir, artifact_uri)
    label = _storage_label(url, study_dir)
    if label != reference.storage:
        raise ComponentInputError(
            f"study {reference.study_name!r} was created in {reference.storage} but this step "
            f"sees {label}: give every tuning step the same {STORAGE_ENV}"
        )
    # Every worker and the summary open the study after create() set the storage up.
    storage = open_storage(url, heartbeat_interval, grace_period, set_up=True)
    try:
        study = optuna.load_study(
            study_name=reference.study_name,
            storage=storage,
            sampler=make_sampler(reference.config, worker),
            pruner=make_pruner(reference.config),
        )
    except KeyError:
        raise ComponentInputError(
            f"study {reference.study_name!r} is not in {reference.storage}"
        ) from None
    config = StudyConfig(**study.user_attrs[CONFIG_ATTR])
    return study, config


def counts_toward_budget(trial: optuna.trial.FrozenTrial) -> bool:
    """Finished trials: completed, pruned, or failed by the configuration itself.

    A trial failed because its worker died (no recorded error) does not count: it is run again.
    """
    if trial.state in FINISHED:
        return True
    return trial.state == TrialState.FAIL and ERROR_ATTR in trial.user_attrs


def fail_orphans(study: optuna.Study, worker: int) -> list[int]:
    """Fails the RUNNING trials an earlier run of ``worker`` left behind; returns their numbers."""
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial.user_attrs.get(WORKER_ATTR) == worker:
            try:
                # What optuna.storages.fail_stale_trials does for a stale heartbeat (optuna 5.0.0
                # storages/_heartbeat.py; optuna is pinned and has no public call to fail a trial
                # by id).
                study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
            except optuna.exceptions.UpdateFinishedTrialError:
                continue  # it finished or was failed meanwhile
            failed.append(trial.number)
    return failed


def worker_done(study: optuna.Study, worker: int) -> int:
    """How many trials of ``worker`` count toward its share."""
    return sum(
        1
        for trial in study.get_trials(deepcopy=False)
        if trial.user_attrs.get(WORKER_ATTR) == worker and counts_toward_budget(trial)
    )
