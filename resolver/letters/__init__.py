"""The written outcome as a document: the draft's words, the tone check, the HTML, text and PDF."""
