"""The HTTP kit every route uses: request context, the unit of work, responses.

It sits below the domains: it imports ``kit``, ``settings`` and the principal
type, never a domain package nor the composition root (``hokan.runtime``),
which it reaches through the :class:`~hokan.httpkit.context.Host` protocol.
"""
