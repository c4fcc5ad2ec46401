"""Schemathesis hooks for .ci/api-check.

The run authenticates as one API client for its whole length. A request that names that client
(its id is in the answers the run reads, such as the list of clients) could rotate its secret,
disable it or delete it, and every request after it would be refused with 401: the rest of the
run would test nothing but authentication. Such a request is sent to a stand-in client instead,
created for it, so the operations on a client are still exercised.
"""

import os

import schemathesis

OWN = os.environ["SKILLGRID_CHECK_OWN_CLIENT"]
STAND_IN = os.environ["SKILLGRID_CHECK_STAND_IN_CLIENT"]


@schemathesis.hook
def before_call(context, case, kwargs):
    params = case.path_parameters
    if params and params.get("clientId") == OWN:
        params["clientId"] = STAND_IN
