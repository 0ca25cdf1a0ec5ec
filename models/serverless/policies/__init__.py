"""The platform's decisions, as registered policies (one domain per slot of
``serverless.platform``):

* ``serverless.keep_alive``: how long an idle pod stays (``ttl``, ``hybrid_histogram``,
  ``faascache``, ``timer_aware``) - :mod:`.keep_alive`;
* ``serverless.prewarm``: whether to unload an idle pod and load a fresh one just before
  the next request is expected (``none``, ``histogram``) - :mod:`.prewarm`;
* ``serverless.pool_sizing``: how many warm generic pods each pool keeps (``static``,
  ``predictive``, ``unlimited``) - :mod:`.pool_sizing`;
* ``serverless.region_routing``: which region serves a request (``home``,
  ``cross_region``) - :mod:`.region_routing`.
"""

KEEP_ALIVE = "serverless.keep_alive"
PREWARM = "serverless.prewarm"
POOL_SIZING = "serverless.pool_sizing"
REGION_ROUTING = "serverless.region_routing"
