"""The office's records of an exam day: 考场情况记录表 per room, read from the reports in force and written as a
workbook (监考人员守则 3(1), 3(5); 考评人员管理办法 第七条(五)).

``data`` reads a day into plain dataclasses, ``workbook`` writes them with openpyxl, the
violations and absentees as CSV (``csvfile``), ``export`` ties reading, writing and the audit log together, ``cli`` is
``exambot export``.
"""
