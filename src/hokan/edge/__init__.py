"""The edge: request context, middleware, error rendering (and later mTLS, geo, IPS, WAF)."""
