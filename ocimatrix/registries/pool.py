"""The matrix's registries for one process: each resolved once, those run from a container image
started on first use (through testcontainers, on the harness's dockerd) and stopped at the end."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

from ocimatrix.errors import HarnessError, OcimatrixError, ServiceUnavailable
from ocimatrix.registries.targets import RegistryTarget, TargetUnavailable, resolve_target


class RegistryPool:
    """The matrix's registries for one process (one xdist worker): each resolved once, image-based
    ones started on first use and stopped by ``close()``; a registry that can't be had is
    remembered with its reason, so every cell naming it skips with the same message."""

    def __init__(
        self,
        registries: Mapping[str, Mapping[str, Any]],
        endpoints: Callable[[], Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.registries = registries
        self._endpoints = endpoints
        self.env = env
        self._targets: dict[str, RegistryTarget] = {}
        self._unavailable: dict[str, str] = {}
        self._containers: list[Any] = []

    def endpoints(self) -> Any:
        return self._endpoints() if self._endpoints else None

    def target(self, name: str) -> RegistryTarget:
        if name in self._unavailable:
            raise TargetUnavailable(self._unavailable[name])
        if name not in self._targets:
            try:
                self._targets[name] = self._resolve(name)
            except HarnessError:
                raise  # a service of the harness's that broke: an error of the cell, never "unavailable here"
            except OcimatrixError as exc:
                self._unavailable[name] = str(exc)
                raise TargetUnavailable(str(exc)) from None
        return self._targets[name]

    def _resolve(self, name: str) -> RegistryTarget:
        if name not in self.registries:
            raise TargetUnavailable(f"registry '{name}' is not defined under 'registries' in the matrix")
        settings = self.registries[name]
        endpoints = self.endpoints() if settings.get("embedded") or settings.get("image") else None
        started_url = None
        if settings.get("image"):
            started_url = self._start_container(name, settings["image"], endpoints)
        target = resolve_target(name, settings, endpoints, self.env, started_url)
        if settings.get("embedded") is True and not target.version:
            from ocimatrix.host.auth_registries import registry_version

            target.version = registry_version()
        return target

    def _start_container(self, name: str, image: Any, endpoints: Any) -> str:
        from ocimatrix.host.registry_container import ContainerRegistry, container_daemon

        docker, failed, why = container_daemon(endpoints)
        if not docker:
            if failed:
                # Installed but it did not start: the harness broke, which is never "no dockerd here".
                raise ServiceUnavailable(
                    f"dockerd (to run registry '{name}' from its image)", f"it did not start: {failed}"
                )
            raise TargetUnavailable(f"registry '{name}' runs from an image, but there is no dockerd here: {why}")
        container = ContainerRegistry(image, docker)
        try:
            url = container.start()
        except Exception as exc:  # noqa: BLE001 - docker and testcontainers raise many kinds
            raise TargetUnavailable(f"registry '{name}': its container did not start: {exc}") from None
        self._containers.append(container)
        return url

    def close(self) -> None:
        for container in self._containers:
            with contextlib.suppress(Exception):  # the state sweep removes what is left
                container.stop()
        self._containers.clear()
