"""The fleet dashboard: a server-rendered web console served by the controller process.

Layout (one module per concern, as Datasette does; the [web] and [notify]
config tables live beside, in ``controller.web_settings``, so reading a
config never imports the web stack):

* ``app``        builds the Starlette app: routes, middleware, templates
* ``server``     runs it under uvicorn on its own thread (TLS when configured)
* ``context``    :class:`Dashboard`, everything a view may use
* ``auth``       sessions, roles, login/logout, the user pages
* ``csrf``       cross-site request protection for every state change
* ``live``       the server-sent-events channel and its hub
* ``i18n``, ``fmt``  operator texts (Bahasa Indonesia, English) and formatting
* ``views/``     one module per page: fleet, station, alarms, progress, schedule,
                 packets, reviews, commands, audit

No view ever opens a sealed packet: the store hands the web index columns only.
"""
