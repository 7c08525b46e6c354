"""The what-if app (issue 16): move a weight, see the plan, the map and the sensitivity change.

:mod:`allocator.app.whatif` turns the app's settings into a model and asks the
library for the verified plan, the equity metrics, the next and last post,
the weight ranges and, when no plan exists, the diagnosis; it knows nothing
of the web framework. :mod:`allocator.app.page` is the Streamlit page that
shows them, and :mod:`allocator.app.server` starts it on 127.0.0.1.
"""
