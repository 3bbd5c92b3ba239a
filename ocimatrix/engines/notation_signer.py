"""notation: signs an image with a test key and certificate (``notation cert generate-test``) and
verifies it against a trust policy that trusts that certificate alone.

Its configuration (keys, trust store, trust policy) lives in the worker's keyring through
``XDG_CONFIG_HOME``. A signature is a referrer (``application/vnd.cncf.notary.signature``); on a
registry without the referrers API notation keeps the referrers tag schema's index.
"""

from __future__ import annotations

import json
from pathlib import Path

from ocimatrix.engines.signing import REFERRER, Keyring, ReadBack, Signer, Written, words

SIGNATURE_TYPE = "application/vnd.cncf.notary.signature"
KEY_NAME = "ocimatrix.test"
VENDOR_STORE = "ocimatrix.vendor"  # the trust store of a certificate someone else gave (a claims file's)


def trust_policy(store: str) -> dict:
    """A trust policy that trusts the certificates of the CA trust store ``store`` alone, for any registry."""
    return {
        "version": "1.0",
        "trustPolicies": [
            {
                "name": "ocimatrix",
                "registryScopes": ["*"],
                "signatureVerification": {"level": "strict"},
                "trustStores": [f"ca:{store}"],
                "trustedIdentities": ["*"],
            }
        ],
    }


class NotationSigner(Signer):
    name = "notation"
    family = "notation"

    def environment(self, keys: Keyring) -> dict[str, str]:
        return {"XDG_CONFIG_HOME": str(keys.path("notation")), "XDG_CACHE_HOME": str(keys.path("notation-cache"))}

    def prepare(self, keys: Keyring) -> None:
        super().prepare(keys)
        config = keys.path("notation", "notation")
        if (config / "trustpolicy.json").exists():
            return
        self.run(["cert", "generate-test", "--default", KEY_NAME], keys, "notation cert generate-test")
        (config / "trustpolicy.json").write_text(json.dumps(trust_policy(KEY_NAME)))

    def write(self, ref: str, keys: Keyring) -> Written:
        result = self.run(["sign", "--insecure-registry", ref], keys, "notation sign")
        return Written(self.label, self.family, REFERRER, SIGNATURE_TYPE, words(result))

    def read(self, ref: str, keys: Keyring, written: Written) -> ReadBack:
        result = self.run(["verify", "--insecure-registry", ref], keys, "notation verify", check=False)
        answer = f"exit {result.returncode}: {words(result)}"
        return ReadBack(self.label, result.returncode == 0, answer, step="notation verify")

    def verify_with(self, ref: str, material: Path, keys: Keyring) -> ReadBack:
        """``notation verify`` with a trust policy trusting the given certificate alone (added once to a
        CA trust store of its own in ``keys``)."""
        keys.path("home").mkdir(parents=True, exist_ok=True)
        config = keys.path("notation", "notation")
        if not (config / "trustpolicy.json").exists():
            argv = ["cert", "add", "--type", "ca", "--store", VENDOR_STORE, str(material)]
            self.run(argv, keys, "notation cert add")
            (config / "trustpolicy.json").write_text(json.dumps(trust_policy(VENDOR_STORE)))
        result = self.run(["verify", "--insecure-registry", ref], keys, "notation verify", check=False)
        return ReadBack(
            self.label, result.returncode == 0, f"exit {result.returncode}: {words(result)}", step="notation verify"
        )
