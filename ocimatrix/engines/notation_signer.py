"""notation: signs an image with a test key and certificate (``notation cert generate-test``) and
verifies it against a trust policy that trusts that certificate alone.

Its configuration (keys, trust store, trust policy) lives in the worker's keyring through
``XDG_CONFIG_HOME``. A signature is a referrer (``application/vnd.cncf.notary.signature``); on a
registry without the referrers API notation keeps the referrers tag schema's index.
"""

from __future__ import annotations

import json

from ocimatrix.engines.signing import REFERRER, Keyring, ReadBack, Signer, Written, words

SIGNATURE_TYPE = "application/vnd.cncf.notary.signature"
KEY_NAME = "ocimatrix.test"


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
        policy = {
            "version": "1.0",
            "trustPolicies": [
                {
                    "name": "ocimatrix",
                    "registryScopes": ["*"],
                    "signatureVerification": {"level": "strict"},
                    "trustStores": [f"ca:{KEY_NAME}"],
                    "trustedIdentities": ["*"],
                }
            ],
        }
        (config / "trustpolicy.json").write_text(json.dumps(policy))

    def write(self, ref: str, keys: Keyring) -> Written:
        result = self.run(["sign", "--insecure-registry", ref], keys, "notation sign")
        return Written(self.label, self.family, REFERRER, SIGNATURE_TYPE, words(result))

    def read(self, ref: str, keys: Keyring, written: Written) -> ReadBack:
        result = self.run(["verify", "--insecure-registry", ref], keys, "notation verify", check=False)
        answer = f"exit {result.returncode}: {words(result)}"
        return ReadBack(self.label, result.returncode == 0, answer, step="notation verify")
