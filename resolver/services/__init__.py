"""Service verbs: one function per domain verb.

A verb checks who may do it, fires the workflow, records the audit event and queues its emails.
It never commits: the request or the worker job that called it commits once, so a state change,
its audit event and its emails are saved together or not at all.
"""
