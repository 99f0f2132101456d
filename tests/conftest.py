"""Shared fixtures: a tiny hand-written district folder."""

import json
import textwrap
from pathlib import Path

import pytest

TINY_YAML = textwrap.dedent("""\
    name: 小测试区
    standard: hunan-2023
    settings:
      school_rule: hunan
    county:
      unified_standards: true
      rotation_eligible: 10
      rotation_rotated: 1
      rotation_backbone: 1
    b_scores:
      8: [3, 2, 3, 2]
    veto:
      exam_admission: false
    """)

TINY_SCHOOLS = textwrap.dedent("""\
    school_id,name,type,area_type,public,boarding,parent_id,lon,lat,students_primary,students_junior,classes_primary,classes_junior,max_class_primary,max_class_junior,classrooms,building_area_m2,sports_area_m2,equipment_yuan,multimedia_rooms,music_rooms,music_room_min_m2,art_rooms,art_room_min_m2,staff_quota,public_funds_yuan,training_funds_yuan
    S1,城关小学,primary,urban,true,false,,113.02,29.02,600,0,14,0,44,0,16,3000,5000,1300000,15,2,100,2,95,40,400000,40000
    S2,城关中学,junior,urban,是,否,,113.05,29.05,0,400,0,8,0,50,10,2500,4500,1100000,10,1,96,1,90,35,360000,30000
    S3,河口学校,nine_year,rural,1,0,,113.08,29.08,166,210,6,6,30,36,12,23226,6000,900000,9,1,100,1,100,30,300000,30000
    S4,山背教学点,teaching_point,rural,true,false,S1,113.03,29.07,40,0,3,0,15,0,3,300,400,50000,1,0,,0,,4,40000,3000
    """)

TINY_TEACHERS = textwrap.dedent("""\
    teacher_id,name,school_id,stage,subject,degree,backbone,certified,full_time,years_at_school,age,training_hours_5y,exempt
    T01,张一,S1,primary,语文,bachelor,county,true,true,8,40,400,
    T02,李二,S1,primary,体育,associate,none,true,true,3,30,380,
    T03,王三,S1,primary,数学,secondary,none,true,true,12,50,360,
    T04,赵四,S2,junior,英语,bachelor,city,true,true,7,45,500,
    T05,钱五,S2,junior,音乐,associate,none,false,true,6,33,200,
    T06,孙六,S3,primary,美术,bachelor,none,true,true,9,56,400,
    T07,周七,S3,junior,数学,postgraduate,province,true,true,10,38,400,孕期
    T08,吴八,S4,primary,语文,associate,none,true,false,20,54,400,
    """)

TINY_UNITS = textwrap.dedent("""\
    unit_id,name,lon,lat,population,children_primary,children_junior
    U1,城关社区,113.02,29.03,12000,700,300
    U2,河口村,113.08,29.07,3000,180,90
    U3,山背村,113.03,29.08,800,50,20
    """)

TINY_BOUNDARY = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                 "geometry": {"type": "Polygon", "coordinates": [[[113.0, 29.0], [113.1, 29.0],
                              [113.1, 29.1], [113.0, 29.1], [113.0, 29.0]]]}}]}

TINY_ROADS = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"name": "主路", "highway": "primary", "speed_kmh": 60},
     "geometry": {"type": "LineString", "coordinates": [[113.02, 29.02], [113.05, 29.05], [113.08, 29.08]]}},
    {"type": "Feature", "properties": {"name": "村道", "highway": "unclassified", "speed_kmh": None},
     "geometry": {"type": "LineString", "coordinates": [[113.02, 29.02], [113.03, 29.07]]}},
]}


def write_tiny(folder: Path, schools: str = TINY_SCHOOLS, teachers: str | None = TINY_TEACHERS,
               units: str | None = TINY_UNITS, yaml_text: str = TINY_YAML) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "district.yaml").write_text(yaml_text, encoding="utf-8")
    (folder / "schools.csv").write_text(schools, encoding="utf-8")
    if teachers is not None:
        (folder / "teachers.csv").write_text(teachers, encoding="utf-8")
    if units is not None:
        (folder / "units.csv").write_text(units, encoding="utf-8")
    (folder / "boundary.geojson").write_text(json.dumps(TINY_BOUNDARY), encoding="utf-8")
    (folder / "roads.geojson").write_text(json.dumps(TINY_ROADS, ensure_ascii=False), encoding="utf-8")
    return folder


@pytest.fixture
def tiny_dir(tmp_path):
    return write_tiny(tmp_path / "tiny")
